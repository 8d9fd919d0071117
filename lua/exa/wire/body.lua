-- exa.wire.body: the JSON request body, built from a deep copy of the caller's
-- table (never mutated, nothing lost: unknown fields pass through as they
-- are). Empty tables in positions the API defines as arrays are marked so
-- they encode as [] instead of {}; everything else keeps its own shape.
--
-- The copy is also the one walk that checks what JSON can carry, before any
-- request: at most MAX_DEPTH nested tables, no reference cycle, every string
-- (values and keys) valid UTF-8. The walk keeps only a stack of keys; a
-- field path is built only to report an error.
local type, pairs, next, getmetatable, setmetatable, tostring =
  type, pairs, next, getmetatable, setmetatable, tostring
local string_format = string.format
local table_concat = table.concat

local errors = require "exa.errors"
local json = require "exa.wire.json"
local validate = require "exa.validate"

local M = {}

local array_mt = json.array_mt
local utf8_error = validate.utf8_error

--- How deep request params may nest, counting the params table itself as
--- level 1. Real requests (a JSON Schema with nested objects, records) stay
--- far below; lua-cjson would stop at 1000, and a walk per level that deep
--- is what a hostile or broken caller costs.
local MAX_DEPTH = 200
M.MAX_DEPTH = MAX_DEPTH

-- root followed by keys[1..n]: "params.input.data[2].name"
local function path_of(w, n)
  local parts = { w.root }
  local keys = w.keys
  for i = 1, n do
    local k = keys[i]
    if type(k) == "string" then
      parts[#parts + 1] = "." .. k
    else
      parts[#parts + 1] = "[" .. tostring(k) .. "]"
    end
  end
  return table_concat(parts)
end

local function check_string(w, s, depth, is_key)
  local at, byte = utf8_error(s)
  if not at then return end
  if is_key then
    local path = path_of(w, depth - 1)
    errors.invalid(path, string_format("a key of %s is not valid UTF-8: byte %d of the key (0x%02X) "
      .. "starts no valid sequence", path, at, byte))
  end
  local path = path_of(w, depth)
  errors.invalid(path, string_format("%s is not valid UTF-8: byte %d (0x%02X) starts no valid sequence",
    path, at, byte))
end

-- Deep copy of table v at level depth. Keeps json.array marks.
local function copy(v, depth, w)
  if w.active[v] then
    local path = path_of(w, depth - 1)
    errors.invalid(path, path .. " contains a reference cycle and cannot be sent as JSON")
  end
  if depth > MAX_DEPTH then
    local path = path_of(w, depth - 1)
    errors.invalid(path, string_format("%s is nested too deeply: request params may nest at most %d tables",
      path, MAX_DEPTH))
  end
  w.active[v] = true
  local keys = w.keys
  local out = {}
  for k, x in pairs(v) do
    keys[depth] = k
    if type(k) == "string" then check_string(w, k, depth, true) end
    local tx = type(x)
    if tx == "table" then
      x = copy(x, depth + 1, w)
    elseif tx == "string" then
      check_string(w, x, depth, false)
    end
    out[k] = x
  end
  keys[depth] = nil
  w.active[v] = nil
  if getmetatable(v) == array_mt then setmetatable(out, array_mt) end
  return out
end

--- A checked deep copy of v; errors name fields from root ("params").
function M.copy(v, root)
  if type(v) ~= "table" then return v end
  return copy(v, 1, { root = root or "params", keys = {}, active = {} })
end

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
  local b = M.copy(p, "params")
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
