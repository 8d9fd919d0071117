-- exa.body: the JSON request body, built from a deep copy of the caller's
-- table (never mutated, nothing lost: unknown fields pass through as they
-- are). Empty tables in positions the API defines as arrays are marked so
-- they encode as [] instead of {}; everything else keeps its own shape.
local type, pairs, next, getmetatable, setmetatable, tostring =
  type, pairs, next, getmetatable, setmetatable, tostring

local errors = require "exa.errors"
local json = require "exa.json"

local M = {}

local array_mt = json.array_mt

-- Deep copy. Keeps json.array marks; errors on cycles (JSON has none).
local function copy(v, path, active)
  if type(v) ~= "table" then return v end
  if active[v] then
    errors.invalid(path, path .. " contains a reference cycle and cannot be sent as JSON")
  end
  active[v] = true
  local out = {}
  for k, x in pairs(v) do
    local kp = type(k) == "string" and (path .. "." .. k) or (path .. "[" .. tostring(k) .. "]")
    out[k] = copy(x, kp, active)
  end
  active[v] = nil
  if getmetatable(v) == array_mt then setmetatable(out, array_mt) end
  return out
end
M.copy = function(v, path) return copy(v, path or "params", {}) end

local function as_array(t)
  if type(t) == "table" and next(t) == nil and getmetatable(t) == nil then
    setmetatable(t, array_mt)
  end
  return t
end

-- JSON Schema keywords whose value is an array (of anything).
local ARRAY_KEYWORDS = {
  required = true, enum = true, type = true, examples = true,
  anyOf = true, oneOf = true, allOf = true, prefixItems = true,
}
-- ... whose value is an array of schemas
local SCHEMA_ARRAYS = { anyOf = true, oneOf = true, allOf = true, prefixItems = true }
-- ... whose value is one schema
local SCHEMA_VALUES = {
  items = true, additionalItems = true, additionalProperties = true, contains = true,
  propertyNames = true, ["not"] = true, ["if"] = true, ["then"] = true, ["else"] = true,
  unevaluatedItems = true, unevaluatedProperties = true, contentSchema = true,
}
-- ... whose value is a map of name -> schema (names are data, not keywords)
local SCHEMA_MAPS = {
  properties = true, patternProperties = true, ["$defs"] = true, definitions = true,
  dependentSchemas = true,
}

-- Walk a (copied) JSON Schema, marking empty arrays under array keywords.
-- Only keyword positions are touched: a property *named* "required" is data.
local function fix_schema(s)
  if type(s) ~= "table" then return end
  for k, v in pairs(s) do
    if type(k) == "string" and type(v) == "table" then
      if ARRAY_KEYWORDS[k] then
        as_array(v)
        if SCHEMA_ARRAYS[k] then
          for _, sub in pairs(v) do fix_schema(sub) end
        end
      elseif SCHEMA_VALUES[k] then
        if k == "items" and (getmetatable(v) == array_mt or v[1] ~= nil) then
          for _, sub in pairs(v) do fix_schema(sub) end -- draft-07 tuple form
        else
          fix_schema(v)
        end
      elseif SCHEMA_MAPS[k] then
        for _, sub in pairs(v) do fix_schema(sub) end
      elseif k == "dependencies" then
        for _, sub in pairs(v) do
          if type(sub) == "table" and next(sub) ~= nil and sub[1] == nil then fix_schema(sub) end
        end
      end
    end
  end
end

--- The create/stream body: a copy of p with the known array positions marked.
function M.create(p)
  local b = copy(p, "params", {})
  if type(b.input) == "table" then
    as_array(b.input.data)
    as_array(b.input.exclusion)
  end
  as_array(b.dataSources)
  if type(b.outputSchema) == "table" then fix_schema(b.outputSchema) end
  return b
end

--- Encode a body, turning an encoder failure (a function value, NaN, a
--- sparse array...) into a validation error.
function M.encode(b, what)
  local s, err = json.encode(b)
  if not s then
    errors.invalid(what or "params", (what or "params") .. " cannot be encoded as JSON: " .. tostring(err))
  end
  return s
end

return M
