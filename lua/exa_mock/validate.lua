-- exa_mock.validate: checks a create-run body like the service and returns the
-- canonical request stored with the run (unknown top-level fields are kept).
local json = require "exa_mock.json"

local validate = {}

-- efforts per API: the beta contract's, and the post-beta reference pages' (--api post-beta)
local EFFORTS = {
  beta = { low = true, medium = true, high = true, xhigh = true, auto = true },
  ["post-beta"] = { minimal = true, low = true, medium = true, high = true, xhigh = true, auto = true,
    max = true, ultra = true },
}
local EFFORT_LIST = {
  beta = "low, medium, high, xhigh, auto",
  ["post-beta"] = "minimal, low, medium, high, xhigh, auto, max, ultra",
}
-- Exa Connect data providers of the post-beta reference page
validate.PROVIDERS = { fiber = true, financial_datasets = true, similarweb = true, baselayer = true,
  affiliate = true, particle = true, jinko = true, polymarket = true }
local ID_PATTERN = "^[A-Za-z0-9_.:%-]+$"

local function is_object(v)
  return type(v) == "table" and not json.is_array(v)
end
validate.is_object = is_object

function validate.run_id(id)
  return type(id) == "string" and #id >= 1 and #id <= 200 and id:match(ID_PATTERN) ~= nil
end

local function records(v, name)
  if v == nil then return nil end
  if not json.is_array(v) then return name .. " must be an array of objects" end
  for i, rec in ipairs(v) do
    if not is_object(rec) then return ("%s[%d] must be an object"):format(name, i - 1) end
  end
end

-- The post-beta budget {maxCostDollars = 1..100, maxDurationSeconds > 0}.
local function post_beta_budget(b)
  if not is_object(b) then return "budget must be an object." end
  local m = b.maxCostDollars
  if m ~= nil and (type(m) ~= "number" or m < 1 or m > 100) then
    return "budget.maxCostDollars must be a number from 1 to 100."
  end
  local d = b.maxDurationSeconds
  if d ~= nil and (type(d) ~= "number" or d <= 0) then
    return "budget.maxDurationSeconds must be a number > 0."
  end
end

local function data_sources(ds)
  if not json.is_array(ds) then return "INVALID_REQUEST", "dataSources must be an array." end
  if #ds > 5 then return "INVALID_REQUEST", "dataSources may list at most 5 providers." end
  for i, d in ipairs(ds) do
    if not is_object(d) or type(d.provider) ~= "string" then
      return "INVALID_REQUEST", ("dataSources[%d] must be an object with a provider."):format(i - 1)
    end
    if not validate.PROVIDERS[d.provider] then
      return "INVALID_DATA_SOURCE", ("dataSources[%d].provider '%s' is not a known data provider."):format(i - 1,
        d.provider)
    end
  end
end

--- Returns canonical request, or nil, code, message. api: "beta" (default)
--- or "post-beta" (newer efforts, budget enforced, dataSources checked).
function validate.create(body, api)
  api = EFFORTS[api] and api or "beta"
  if body == nil or body:match("^%s*$") then
    return nil, "INVALID_REQUEST", "Request body is required."
  end
  local req, err = json.decode(body)
  if req == nil then return nil, "INVALID_REQUEST", "Request body is not valid JSON: " .. tostring(err) end
  if not is_object(req) then return nil, "INVALID_REQUEST", "Request body must be a JSON object." end
  local q = req.query
  if q == nil or q == json.null then return nil, "INVALID_REQUEST", "query is required." end
  if type(q) ~= "string" then return nil, "INVALID_REQUEST", "query must be a string." end
  if q:match("^%s*$") then return nil, "INVALID_REQUEST", "query must not be empty." end
  if req.systemPrompt ~= nil and type(req.systemPrompt) ~= "string" then
    return nil, "INVALID_REQUEST", "systemPrompt must be a string."
  end
  if req.effort ~= nil and not EFFORTS[api][req.effort] then
    return nil, "INVALID_REQUEST", "effort must be one of " .. EFFORT_LIST[api] .. "."
  end
  if req.previousRunId ~= nil and not validate.run_id(req.previousRunId) then
    return nil, "INVALID_REQUEST", "previousRunId is not a valid run id."
  end
  if req.metadata ~= nil then
    if not is_object(req.metadata) then return nil, "INVALID_REQUEST", "metadata must be an object." end
    for k, v in pairs(req.metadata) do
      if type(v) ~= "string" then return nil, "INVALID_REQUEST", "metadata." .. tostring(k) .. " must be a string." end
    end
  end
  if req.input ~= nil then
    if not is_object(req.input) then return nil, "INVALID_REQUEST", "input must be an object." end
    local m = records(req.input.data, "input.data") or records(req.input.exclusion, "input.exclusion")
    if m then return nil, "INVALID_REQUEST", m end
    -- the stored request's input allows only data and exclusion
    req.input = { data = req.input.data, exclusion = req.input.exclusion }
  end
  if req.outputSchema ~= nil and req.outputSchema ~= json.null and not is_object(req.outputSchema) then
    return nil, "INVALID_OUTPUT_SCHEMA", "outputSchema must be a JSON Schema object or null."
  end
  if req.budget ~= nil and api == "post-beta" then
    local m = post_beta_budget(req.budget)
    if m then return nil, "INVALID_REQUEST", m end
  elseif req.budget ~= nil then -- beta: accepted for compatibility and ignored
    if not is_object(req.budget) then return nil, "INVALID_REQUEST", "budget must be an object." end
    local m = req.budget.maxCostDollars
    if m ~= nil and (type(m) ~= "number" or m < 0) then
      return nil, "INVALID_REQUEST", "budget.maxCostDollars must be a number >= 0."
    end
  end
  if req.dataSources ~= nil and api == "post-beta" then
    local code, m = data_sources(req.dataSources)
    if code then return nil, code, m end
  elseif req.dataSources ~= nil and not json.is_array(req.dataSources) then
    return nil, "INVALID_REQUEST", "dataSources must be an array."
  end
  return req
end

--- limit query parameter: integer 1..100 (default 20). Returns n or nil, message.
function validate.limit(s)
  if s == nil then return 20 end
  local n = s:match("^%d+$") and tonumber(s)
  if not n or n < 1 or n > 100 then return nil, "limit must be an integer between 1 and 100." end
  return n
end

return validate
