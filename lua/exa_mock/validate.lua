-- exa_mock.validate: checks a create-run body like the service and returns the
-- canonical request stored with the run (unknown top-level fields are kept).
local json = require "exa_mock.json"

local validate = {}

local EFFORTS = { low = true, medium = true, high = true, xhigh = true, auto = true }
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

--- Returns canonical request, or nil, code, message.
function validate.create(body)
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
  if req.effort ~= nil and not EFFORTS[req.effort] then
    return nil, "INVALID_REQUEST", "effort must be one of low, medium, high, xhigh, auto."
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
  if req.budget ~= nil then
    if not is_object(req.budget) then return nil, "INVALID_REQUEST", "budget must be an object." end
    local m = req.budget.maxCostDollars
    if m ~= nil and (type(m) ~= "number" or m < 0) then
      return nil, "INVALID_REQUEST", "budget.maxCostDollars must be a number >= 0."
    end
  end
  if req.dataSources ~= nil and not json.is_array(req.dataSources) then
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
