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
--   exa.estimate(params[, {api = "beta"}])
--     --> {min_dollars=, max_dollars=, effort=, emails=, phone_numbers=, unbounded=}
--   exa.check_budget(params, dollars[, {api =, budget =, spent =, reserved =}])
--     --> the estimate, or raises kind "budget" (the budget rule)
--
-- max_dollars is a bound: the effort's top price plus the worst case of the
-- contact enrichment the outputSchema asks for (every email and phone field
-- filled, arrays at their maxItems, required keys without a property filled
-- by name, maps of them (additionalProperties, patternProperties) at their
-- maxProperties); an array without maxItems or a map without maxProperties
-- that holds such a field, an effort without a published price (ultra, or a name this
-- table does not know) or data sources (no published price) on an uncapped
-- effort make it math.huge, and `unbounded` says why. On the post-beta API
-- a run capped by budget.maxCostDollars (auto, max) is bounded by the cap
-- (default $5 and $20) whatever it enriches. The beta API (the default)
-- ignores budget: there auto and max have no bound the client can know.
local type, pairs, ipairs, next, tostring = type, pairs, ipairs, next, tostring
local string_lower, string_find = string.lower, string.find
local math_huge, math_floor, math_abs = math.huge, math.floor, math.abs
local pcall = pcall

local builder = require "exa.builder"
local errors = require "exa.errors"
local validate = require "exa.validate"
local string_format, table_concat = string.format, table.concat

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

local S = validate.schema
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
  local props = type(s.properties) == "table" and s.properties or {}
  if type(s.properties) == "table" or t.object then
    for k, sub in pairs(props) do
      local a, b = count(root, sub, k, depth + 1)
      e, p = e + a, p + b
    end
  end
  -- a required key without a property: the service fills it all the same
  -- (by additionalProperties' schema, else by its name), as the simulator does
  local extra = type(s.additionalProperties) == "table" and s.additionalProperties or nil
  if type(s.required) == "table" then
    for _, k in ipairs(s.required) do
      if type(k) == "string" and props[k] == nil then
        local a, b = count(root, extra, k, depth + 1)
        e, p = e + a, p + b
      end
    end
  end
  -- any further keys (additionalProperties, patternProperties: a pattern
  -- names its keys): as many as maxProperties allows, else no bound
  local maps = {}
  if extra then maps[1] = { extra, nil } end
  if type(s.patternProperties) == "table" then
    for pat, sub in pairs(s.patternProperties) do maps[#maps + 1] = { sub, pat } end
  end
  for _, m in ipairs(maps) do
    local a, b = count(root, m[1], m[2], depth + 1)
    local n = s.maxProperties or math_huge
    e, p = e + mul(a, n), p + mul(b, n)
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
  if e == 0 and p == 0 and (t.string or next(t) == nil) and not s.properties and not s.items
    and not s.required and not s.additionalProperties and not s.patternProperties then
    local k = contact_kind(s, name)
    if k == "email" then e = 1 elseif k == "phone" then p = 1 end
  end
  return e, p
end

-- efforts of a fixed price, cheapest first (the way out of a refusal)
local FIXED = { "low", "medium", "high", "xhigh" }

local function money(x)
  if x == math_huge then return "an unbounded amount" end
  local cents = x * 100
  if math_abs(cents - math_floor(cents + 0.5)) < 1e-6 then return string_format("$%.2f", x) end
  return string_format("$%.4f", x)
end

local function fixed_efforts(left)
  local out = {}
  for _, e in ipairs(FIXED) do
    local p = M.PRICES.effort[e][2]
    if left == nil or p <= left + 1e-9 then out[#out + 1] = string_format("%s %s", e, money(p)) end
  end
  return out
end

--- exa.estimate(params[, {api = "beta"|"post-beta"}]) -> {min_dollars=, max_dollars=, effort=,
--- emails=, phone_numbers=, unbounded = nil or why max_dollars is math.huge}
function M.estimate(params, opts)
  opts = validate.options(opts, "estimate")
  local which = validate.api(opts.api)
  params = builder.unwrap(params)
  validate.create_params(params, which)
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

  local min, max, why
  if not price then
    min, max = 0, math_huge
    why = string_format("effort %s has no published price, and no budget.maxCostDollars caps it", effort)
  elseif M.PRICES.capped[effort] then
    if which == "post-beta" then
      min, max = price[1], cap or price[2]
      if min > max then min = max end
    else
      min, max = price[1], math_huge
      why = string_format("effort %s has no cost ceiling on the beta API, which ignores budget.maxCostDollars "
        .. "(the post-beta API caps it: $%s unless budget.maxCostDollars says less)", effort, tostring(price[2]))
    end
  else
    min = price[1]
    max = price[2] + mul(emails, M.PRICES.email) + mul(phones, M.PRICES.phone_number)
    if max == math_huge then
      why = "the outputSchema asks for email or phone fields in an array without maxItems, or in an "
        .. "object's additionalProperties or patternProperties without maxProperties: contact "
        .. "enrichment has no bound (give the array maxItems, the object maxProperties)"
    end
    if has_ds then
      max = math_huge
      why = "dataSources have no published price, and effort " .. effort .. " is not capped by budget.maxCostDollars"
    end
  end
  return {
    min_dollars = round(min), max_dollars = round(max), effort = effort,
    emails = emails, phone_numbers = phones, unbounded = why,
  }
end

--- The budget rule, the one the client's budget (exa.new{budget =}) and the
--- CLI's --budget apply before any request: may a run of params start when
--- `dollars` are left to spend? Returns its estimate (exa.estimate) when its
--- worst case fits; otherwise raises a "budget" error object (code
--- BUDGET_EXCEEDED, .estimate, .remaining) whose message names the way out:
---   * a budget of 0 refuses every run;
---   * a run whose worst case cannot be bounded on the API in use (auto or
---     max on the beta API, which ignores budget.maxCostDollars; ultra or an
---     effort without a published price; unbounded enrichment or data
---     sources) is refused whatever the budget: use a fixed effort (low,
---     medium, high, xhigh), or on the post-beta API auto/max with a
---     budget.maxCostDollars;
---   * a bounded run whose worst case passes what is left: a cheaper fixed
---     effort, a smaller budget.maxCostDollars (post-beta auto/max), or a
---     budget at least that worst case.
--- opts: api ("beta", the default, or "post-beta"); budget, spent, reserved
--- (dollars, for the message and the error's fields: the ledger passes them).
function M.check_budget(params, dollars, opts)
  opts = validate.options(opts, "check_budget")
  if type(dollars) ~= "number" or dollars ~= dollars then
    errors.invalid("dollars", "the budget left must be a number of dollars, got " .. validate.describe(dollars),
      dollars)
  end
  local which = validate.api(opts.api)
  for _, k in ipairs{ "budget", "spent", "reserved" } do
    local v = opts[k]
    if v ~= nil and (type(v) ~= "number" or v ~= v) then
      errors.invalid(k, string_format("%s must be a number of dollars, got %s", k, validate.describe(v)), v)
    end
  end
  local est = M.estimate(params, { api = which })
  local total = opts.budget or dollars
  local spent, reserved = opts.spent or 0, opts.reserved or 0
  local left = dollars
  if est.max_dollars <= left + 1e-9 and total > 0 then return est end
  local effort = est.effort
  local capped = M.PRICES.capped[effort]
  local msg, way
  if total <= 0 then
    msg = "a budget of $0 refuses every run"
    way = "give a budget above $0 to run anything"
  elseif est.max_dollars == math_huge then
    msg = "this run may cost up to an unbounded amount: " .. tostring(est.unbounded)
    local fixed = fixed_efforts(nil)
    if capped and which == "beta" then
      way = string_format("use a fixed effort (%s), or the post-beta API (exa.new{api = \"post-beta\"}), "
        .. "which caps %s with budget.maxCostDollars", table_concat(fixed, ", "), effort)
    elseif not capped and type(params.dataSources) == "table" and next(params.dataSources) ~= nil then
      -- the effort is fixed already: what has no bound is the data sources
      way = "drop dataSources" .. (which == "post-beta"
        and ", or use effort auto or max with a budget.maxCostDollars, which caps the whole run"
        or " (the beta API caps no run that uses them; the post-beta API's budget.maxCostDollars does, "
          .. "with effort auto or max)")
    elseif est.emails == math_huge or est.phone_numbers == math_huge then
      way = "give every array of email or phone fields a maxItems, and every object that maps keys "
        .. "to them (additionalProperties, patternProperties) a maxProperties"
    else
      way = string_format("use a fixed effort (%s)%s", table_concat(fixed, ", "),
        which == "post-beta" and ", or auto or max with a budget.maxCostDollars" or "")
    end
  else
    msg = string_format("this run may cost up to %s but only %s of the %s budget is left "
      .. "(%s spent, %s held by runs not finished yet)",
      money(est.max_dollars), money(left < 0 and 0 or left), money(total), money(spent), money(reserved))
    local ways = {}
    local fixed = fixed_efforts(left)
    if #fixed > 0 and (capped or est.max_dollars > 0) then
      ways[#ways + 1] = "a fixed effort that fits (" .. table_concat(fixed, ", ") .. ")"
    end
    if capped and which == "post-beta" and left >= validate.MAX_COST_RANGE[1] then
      ways[#ways + 1] = string_format("budget.maxCostDollars at most %s", money(math_floor(left * 100) / 100))
    end
    ways[#ways + 1] = string_format("a budget of at least %s", money(est.max_dollars + spent + reserved))
    way = "use " .. table_concat(ways, ", or ")
  end
  errors.raise{
    kind = "budget", code = "BUDGET_EXCEEDED", estimate = est,
    max_dollars = total, spent = round(spent), reserved = round(reserved), remaining = round(left),
    message = msg .. "; " .. way,
  }
end

return M
