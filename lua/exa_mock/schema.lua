-- exa_mock.schema: the JSON Schema subset the simulator understands: local
-- $ref resolution, a structural "is this usable" check and a validator.
-- Keywords: type, properties, required, additionalProperties, items,
-- prefixItems, enum, const, minItems/maxItems, minimum/maximum,
-- exclusiveMinimum/exclusiveMaximum, multipleOf, minLength/maxLength,
-- format (uri, email, date-time, date, phone), anyOf/oneOf/allOf, not,
-- $ref into $defs/definitions/components. pattern is not checked.
local json = require "exa_mock.json"
local util = require "exa_mock.util"
local is_object = require("exa_mock.validate").is_object

local schema = {}

local TYPES = { string = true, number = true, integer = true, boolean = true, object = true, array = true,
  ["null"] = true }

--- Resolve "#/a/b" against root. Returns the schema or nil.
function schema.resolve(root, ref)
  if ref == "#" then return root end
  local path = ref:match("^#/(.*)$")
  if not path then return nil end
  local node = root
  for part in path:gmatch("[^/]+") do
    part = part:gsub("~1", "/"):gsub("~0", "~"):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    if type(node) ~= "table" then return nil end
    local nxt = node[part]
    if nxt == nil and json.is_array(node) and tonumber(part) then nxt = node[tonumber(part) + 1] end
    node = nxt
  end
  return node
end

--- Follow $ref chains. Returns schema (or nil, err).
function schema.deref(root, s)
  local seen = 0
  while type(s) == "table" and type(s["$ref"]) == "string" do
    local target = schema.resolve(root, s["$ref"])
    if target == nil then return nil, "unresolvable $ref " .. s["$ref"] end
    s = target
    seen = seen + 1
    if seen > 50 then return nil, "$ref loop" end
  end
  return s
end

local function types_of(s)
  local t = s.type
  if t == nil then return nil end
  if type(t) == "string" then return { t } end
  return t
end
schema.types_of = types_of

-- Structural check ------------------------------------------------------------

local function check(root, s, path, depth)
  if s == true or s == false then return nil end
  if not is_object(s) then return path .. " must be a schema object" end
  if depth > 64 then return nil end
  if s["$ref"] ~= nil then
    if type(s["$ref"]) ~= "string" then return path .. ".$ref must be a string" end
    local target = schema.resolve(root, s["$ref"])
    if target == nil then return path .. ": $ref " .. s["$ref"] .. " does not resolve" end
  end
  local t = s.type
  if t ~= nil then
    local list = types_of(s)
    if type(list) ~= "table" or #list == 0 then return path .. ".type must be a string or array" end
    for _, x in ipairs(list) do
      if not TYPES[x] then return path .. ".type has unknown type " .. tostring(x) end
    end
  end
  if s.properties ~= nil then
    if not is_object(s.properties) then return path .. ".properties must be an object" end
    for k, sub in pairs(s.properties) do
      local e = check(root, sub, path .. ".properties." .. k, depth + 1)
      if e then return e end
    end
  end
  if s.required ~= nil then
    if not json.is_array(s.required) then return path .. ".required must be an array" end
    for _, k in ipairs(s.required) do
      if type(k) ~= "string" then return path .. ".required must hold strings" end
    end
  end
  for _, k in ipairs { "items", "additionalProperties", "not", "contains", "propertyNames" } do
    if s[k] ~= nil and type(s[k]) ~= "boolean" then
      local sub = s[k]
      if k == "items" and json.is_array(sub) then
        for i, x in ipairs(sub) do
          local e = check(root, x, path .. ".items[" .. (i - 1) .. "]", depth + 1)
          if e then return e end
        end
      else
        local e = check(root, sub, path .. "." .. k, depth + 1)
        if e then return e end
      end
    end
  end
  for _, k in ipairs { "anyOf", "oneOf", "allOf", "prefixItems" } do
    if s[k] ~= nil then
      if not json.is_array(s[k]) or #s[k] == 0 then return path .. "." .. k .. " must be a non-empty array" end
      for i, x in ipairs(s[k]) do
        local e = check(root, x, path .. "." .. k .. "[" .. (i - 1) .. "]", depth + 1)
        if e then return e end
      end
    end
  end
  for _, k in ipairs { "$defs", "definitions" } do
    if s[k] ~= nil then
      if not is_object(s[k]) then return path .. "." .. k .. " must be an object" end
      for name, x in pairs(s[k]) do
        local e = check(root, x, path .. "." .. k .. "." .. name, depth + 1)
        if e then return e end
      end
    end
  end
  if s.enum ~= nil and (not json.is_array(s.enum) or #s.enum == 0) then
    return path .. ".enum must be a non-empty array"
  end
  for _, k in ipairs { "minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties" } do
    local v = s[k]
    if v ~= nil and (math.type(v) == nil or v < 0 or v ~= math.floor(v)) then
      return path .. "." .. k .. " must be a non-negative integer"
    end
  end
  for _, k in ipairs { "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf" } do
    if s[k] ~= nil and type(s[k]) ~= "number" then return path .. "." .. k .. " must be a number" end
  end
  if s.minItems and s.maxItems and s.minItems > s.maxItems then return path .. ": minItems > maxItems" end
  if s.minLength and s.maxLength and s.minLength > s.maxLength then return path .. ": minLength > maxLength" end
  if s.minimum and s.maximum and s.minimum > s.maximum then return path .. ": minimum > maximum" end
  if s.multipleOf and s.multipleOf <= 0 then return path .. ".multipleOf must be > 0" end
  return nil
end

--- nil when s is usable as an output schema, else a message.
function schema.check(s)
  if not is_object(s) then return "the schema must be an object" end
  return check(s, s, "outputSchema", 0)
end

-- Validation ------------------------------------------------------------------

local function json_type(v)
  local t = type(v)
  if v == json.null then return "null" end
  if t == "boolean" or t == "string" then return t end
  if t == "number" then return "number" end
  if t == "table" then return json.is_array(v) and "array" or "object" end
  return t
end

local function type_ok(want, v)
  local have = json_type(v)
  if want == have then return true end
  if want == "integer" and have == "number" then return v == math.floor(v) end
  if want == "number" and have == "number" then return true end
  return false
end

local FORMATS = {
  uri = function(s) return s:match("^[%a][%w+.%-]*:[^%s]+$") ~= nil end,
  email = function(s) return s:match("^[^@%s]+@[^@%s]+%.[^@%s]+$") ~= nil end,
  ["date-time"] = function(s)
    return s:match("^%d%d%d%d%-%d%d%-%d%d[Tt]%d%d:%d%d:%d%d") ~= nil
      and (s:match("[Zz]$") or s:match("[+-]%d%d:%d%d$")) ~= nil
  end,
  date = function(s) return s:match("^%d%d%d%d%-%d%d%-%d%d$") ~= nil end,
  phone = function(s) return s:match("^%+?[%d%s%-%(%)%.]+$") ~= nil and #s:gsub("%D", "") >= 7 end,
}
FORMATS.url = FORMATS.uri
FORMATS["phone-number"] = FORMATS.phone
schema.FORMATS = FORMATS

local function ulen(s)
  return utf8.len(s) or #s
end

local validate

local function validate_inner(root, s, v, path)
  if s == true or s == nil then return true end
  if s == false then return false, path .. ": false schema" end
  local err
  s, err = schema.deref(root, s)
  if not s then return false, path .. ": " .. err end
  if s == true then return true end
  if s == false then return false, path .. ": false schema" end
  local list = types_of(s)
  if list then
    local ok = false
    for _, t in ipairs(list) do if type_ok(t, v) then ok = true break end end
    if not ok then return false, ("%s: expected %s, got %s"):format(path, table.concat(list, "|"), json_type(v)) end
  end
  if s.const ~= nil and not util.deep_equal(s.const, v) then return false, path .. ": not the const value" end
  if s.enum ~= nil then
    local ok = false
    for _, e in ipairs(s.enum) do if util.deep_equal(e, v) then ok = true break end end
    if not ok then return false, path .. ": not in enum" end
  end
  local jt = json_type(v)
  if jt == "number" then
    if s.minimum and v < s.minimum then return false, path .. ": below minimum" end
    if s.maximum and v > s.maximum then return false, path .. ": above maximum" end
    if type(s.exclusiveMinimum) == "number" and v <= s.exclusiveMinimum then return false, path .. ": <= exclusiveMinimum" end
    if type(s.exclusiveMaximum) == "number" and v >= s.exclusiveMaximum then return false, path .. ": >= exclusiveMaximum" end
    if s.multipleOf then
      local q = v / s.multipleOf
      if math.abs(q - math.floor(q + 0.5)) > 1e-9 then return false, path .. ": not a multipleOf" end
    end
  elseif jt == "string" then
    if s.minLength and ulen(v) < s.minLength then return false, path .. ": shorter than minLength" end
    if s.maxLength and ulen(v) > s.maxLength then return false, path .. ": longer than maxLength" end
    local fmt = s.format and FORMATS[s.format]
    if fmt and not fmt(v) then return false, path .. ": not a valid " .. s.format end
  elseif jt == "array" then
    if s.minItems and #v < s.minItems then return false, path .. ": fewer than minItems" end
    if s.maxItems and #v > s.maxItems then return false, path .. ": more than maxItems" end
    local prefix = s.prefixItems or (json.is_array(s.items) and s.items) or nil
    for i, x in ipairs(v) do
      local sub
      if prefix and prefix[i] ~= nil then sub = prefix[i]
      elseif prefix then sub = s.prefixItems and s.items or s.additionalItems
      else sub = s.items end
      if sub ~= nil then
        local ok, e = validate(root, sub, x, ("%s[%d]"):format(path, i - 1))
        if not ok then return false, e end
      end
    end
  elseif jt == "object" then
    for _, k in ipairs(s.required or {}) do
      if v[k] == nil then return false, path .. ": missing required " .. k end
    end
    local props = s.properties or {}
    for k, x in pairs(v) do
      local sub = props[k]
      if sub == nil then sub = s.additionalProperties end
      if s.propertyNames ~= nil then
        local ok, e = validate(root, s.propertyNames, k, path .. "{" .. k .. "}")
        if not ok then return false, e end
      end
      if sub == false then return false, path .. ": unexpected property " .. k end
      if sub ~= nil then
        local ok, e = validate(root, sub, x, path .. "." .. k)
        if not ok then return false, e end
      end
    end
  end
  if s.allOf then
    for _, sub in ipairs(s.allOf) do
      local ok, e = validate(root, sub, v, path)
      if not ok then return false, e end
    end
  end
  if s.anyOf then
    local ok = false
    for _, sub in ipairs(s.anyOf) do if validate(root, sub, v, path) then ok = true break end end
    if not ok then return false, path .. ": matches no anyOf branch" end
  end
  if s.oneOf then
    local n = 0
    for _, sub in ipairs(s.oneOf) do if validate(root, sub, v, path) then n = n + 1 end end
    if n ~= 1 then return false, ("%s: matches %d oneOf branches"):format(path, n) end
  end
  if s["not"] ~= nil and validate(root, s["not"], v, path) then return false, path .. ": matches not" end
  return true
end
validate = validate_inner

--- Validate value v against schema s (refs resolve against root, default s).
function schema.validate(s, v, root)
  return validate(root or s, s, v, "$")
end

return schema
