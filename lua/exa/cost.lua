-- exa.cost: what a run may cost before it starts, from the published price
-- table (../shared/spec/README.md):
--
--   effort price per run   low $0.025, medium $0.10, high $0.50, xhigh $1.00-$2.00;
--                          auto picks one of those (post-beta: capped by
--                          budget.maxCostDollars, default $5); max is capped the
--                          same way (default $20)
--   metered parts          1 ACU = $0.0001, $7 per 1,000 searches,
--                          $0.02 per email, $0.07 per phone number
--
--   exa.estimate(params) --> {min_dollars=, max_dollars=, effort=, emails=, phone_numbers=}
--
-- max_dollars is a bound: the effort's top price plus the worst case of the
-- contact enrichment the outputSchema asks for (every email and phone field
-- filled, arrays at their maxItems); an array without maxItems that holds
-- such a field, an effort without a published price (ultra, or a name this
-- table does not know) or data sources (no published price) on an uncapped
-- effort make it math.huge. A run capped by budget.maxCostDollars (auto,
-- max) is bounded by the cap whatever it enriches.
local type, pairs, ipairs, next, tostring = type, pairs, ipairs, next, tostring
local string_lower, string_find = string.lower, string.find
local math_huge, math_floor = math.huge, math.floor
local pcall = pcall

local builder = require "exa.builder"
local errors = require "exa.errors"
local validate = require "exa.validate"

local M = {}

M.PRICES = {
  acu = 0.0001, search = 0.007, email = 0.02, phone_number = 0.07,
  -- {min, max} dollars per run before enrichment. minimal has no published
  -- price: bounded by low's, which it undercuts.
  effort = {
    minimal = { 0, 0.025 },
    low = { 0.025, 0.025 },
    medium = { 0.10, 0.10 },
    high = { 0.50, 0.50 },
    xhigh = { 1.00, 2.00 },
    auto = { 0.025, 5 },
    max = { 0, 20 },
  },
  -- efforts whose total the API caps with budget.maxCostDollars
  capped = { auto = true, max = true },
}

local S = require("exa.check").validator
local is_array = S.is_array

-- whole dollars to 1e-9: no float noise such as 1.4000000000000001
local function round(x)
  if x == math_huge then return x end
  return math_floor(x * 1e9 + 0.5) / 1e9
end

local function has(name, word)
  return name ~= nil and string_find(string_lower(name), word, 1, true) ~= nil
end

-- The kind of contact a string field holds, the way the service (and the
-- simulator) tell: format email / phone, or a name that says so.
local function contact_kind(s, name)
  local fmt = type(s) == "table" and s.format or nil
  if fmt == "email" or (fmt == nil and has(name, "email")) then return "email" end
  if fmt == "phone" or fmt == "phone-number" or (fmt == nil and has(name, "phone")) then return "phone" end
end

local function mul(a, n)
  if a == 0 then return 0 end
  return a * n
end

-- Most emails and phone numbers a value of schema s can hold.
local function count(root, s, name, depth)
  if depth > 32 or s == nil or s == true or s == false then
    if s == true or s == nil then
      local k = contact_kind(nil, name)
      return k == "email" and 1 or 0, k == "phone" and 1 or 0
    end
    return 0, 0
  end
  s = S.deref(root, s)
  if type(s) ~= "table" then return 0, 0 end
  local branches = s.anyOf or s.oneOf
  if type(branches) == "table" then
    local me, mp = 0, 0
    for _, b in ipairs(branches) do
      local e, p = count(root, b, name, depth + 1)
      if e > me then me = e end
      if p > mp then mp = p end
    end
    return me, mp
  end
  local types = S.types_of(s) or {}
  local t = {}
  for _, x in ipairs(types) do t[x] = true end
  local e, p = 0, 0
  if type(s.properties) == "table" or t.object then
    for k, sub in pairs(type(s.properties) == "table" and s.properties or {}) do
      local a, b = count(root, sub, k, depth + 1)
      e, p = e + a, p + b
    end
  end
  if s.items ~= nil or s.prefixItems ~= nil or t.array then
    -- fixed positions (prefixItems, or draft-07's items list), then the rest
    local tuple = s.prefixItems or (is_array(s.items) and s.items) or nil
    local rest
    if s.prefixItems then rest = s.items elseif tuple then rest = s.additionalItems else rest = s.items end
    for _, sub in ipairs(tuple or {}) do
      local a, b = count(root, sub, name, depth + 1)
      e, p = e + a, p + b
    end
    if type(rest) == "table" then
      local a, b = count(root, rest, name, depth + 1)
      local n = s.maxItems or math_huge
      e, p = e + mul(a, n), p + mul(b, n)
    end
  end
  if type(s.allOf) == "table" then
    for _, sub in ipairs(s.allOf) do
      local a, b = count(root, sub, name, depth + 1)
      e, p = e + a, p + b
    end
  end
  if e == 0 and p == 0 and (t.string or next(t) == nil) and not s.properties and not s.items then
    local k = contact_kind(s, name)
    if k == "email" then e = 1 elseif k == "phone" then p = 1 end
  end
  return e, p
end

--- exa.estimate(params) -> {min_dollars=, max_dollars=, effort=, emails=, phone_numbers=}
function M.estimate(params)
  params = builder.unwrap(params)
  validate.create_params(params)
  local effort = params.effort
  if effort == nil then effort = "auto" end
  local price = M.PRICES.effort[effort]
  local budget = type(params.budget) == "table" and params.budget or {}
  local cap = budget.maxCostDollars
  if type(cap) ~= "number" or cap < 0 then cap = nil end

  local emails, phones = 0, 0
  local os_ = params.outputSchema
  if type(os_) == "table" then
    local ok, e, p = pcall(count, os_, os_, nil, 0)
    if not ok then errors.invalid("outputSchema", "outputSchema cannot be read: " .. tostring(e)) end
    emails, phones = e, p
  end
  local ds = params.dataSources
  local has_ds = type(ds) == "table" and next(ds) ~= nil

  local min, max
  if not price then
    min, max = 0, math_huge
  elseif M.PRICES.capped[effort] then
    min, max = price[1], cap or price[2]
    if min > max then min = max end
  else
    min = price[1]
    max = price[2] + mul(emails, M.PRICES.email) + mul(phones, M.PRICES.phone_number)
    if has_ds then max = math_huge end
  end
  return {
    min_dollars = round(min), max_dollars = round(max), effort = effort,
    emails = emails, phone_numbers = phones,
  }
end

return M
