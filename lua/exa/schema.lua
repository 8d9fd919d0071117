-- exa.schema: the one JSON Schema validator of the package, shared by the
-- client (exa.check_output) and the simulator (exa_mock.schema). Pure Lua
-- for 5.1-5.4 and LuaJIT, no other module needed: the caller says how its
-- JSON decoder marks null and arrays.
--
--   local S = require("exa.schema").new{ null = json.null, is_array = json.is_array }
--   S.validate(schema, value[, root])        --> true | false, "path: message" (the first error)
--   S.errors(schema, value, {root=, path=, max=, allow_null=})  --> list of {path=, message=}
--   S.check(schema)                          --> nil | message: is it usable as an outputSchema?
--   S.deref(root, s), S.resolve(root, "#/a/b"), S.types_of(s), S.FORMATS, S.deep_equal(a, b)
--
-- The draft-07 / 2019-09 / 2020-12 subset: type (and type lists), enum,
-- const, properties, required, additionalProperties, patternProperties
-- (names are not matched: see below), propertyNames, min/maxProperties,
-- dependentRequired, dependencies, dependentSchemas, items (schema or
-- draft-07 tuple) with additionalItems, prefixItems, contains with
-- min/maxContains, min/maxItems, uniqueItems, min/maxLength, minimum,
-- maximum, exclusiveMinimum/exclusiveMaximum (number, or draft-04 boolean),
-- multipleOf, format (uri, url, uri-reference, email, date-time, date, time,
-- phone, phone-number, uuid, hostname, ipv4), allOf, anyOf, oneOf, not,
-- if/then/else, and $ref to "#", "#/$defs/...", "#/definitions/..." or any
-- local JSON pointer. `pattern` and `patternProperties` hold ECMA-262
-- regular expressions, which Lua patterns cannot express: they are not
-- checked, and a property a patternProperties entry may cover is not
-- reported as additional.
local type, pairs, ipairs, next, tostring, tonumber, select =
  type, pairs, ipairs, next, tostring, tonumber, select
local string_format, string_char, string_find, string_match, string_gsub =
  string.format, string.char, string.find, string.match, string.gsub
local math_floor, math_huge, math_abs = math.floor, math.huge, math.abs
local table_concat, table_sort = table.concat, table.sort
local string_gmatch = string.gmatch

local M = {}

local TYPES = { string = true, number = true, integer = true, boolean = true, object = true, array = true,
  ["null"] = true }

local function is_integer(v)
  return type(v) == "number" and v == math_floor(v) and v ~= math_huge and v ~= -math_huge
end

-- UTF-8 characters in s: the bytes that do not continue a sequence.
local function ulen(s)
  return select(2, string_gsub(s, "[^\128-\191]", ""))
end

local function ident(k)
  return type(k) == "string" and string_find(k, "^[%a_][%w_]*$") ~= nil
end

-- The path of a property: .key, or ["odd key"] (the way grounding names fields).
local function child(path, k)
  if ident(k) then return path .. "." .. k end
  return path .. '["' .. string_gsub(tostring(k), '["\\]', "\\%0") .. '"]'
end
M.child = child

local FORMATS = {
  uri = function(s) return string_find(s, "^[%a][%w+.%-]*:[^%s]+$") ~= nil end,
  ["uri-reference"] = function(s) return string_find(s, "%s") == nil end,
  email = function(s) return string_find(s, "^[^@%s]+@[^@%s]+%.[^@%s]+$") ~= nil end,
  ["date-time"] = function(s)
    return string_find(s, "^%d%d%d%d%-%d%d%-%d%d[Tt ]%d%d:%d%d:%d%d") ~= nil
      and (string_find(s, "[Zz]$") or string_find(s, "[+-]%d%d:%d%d$")) ~= nil
  end,
  date = function(s) return string_find(s, "^%d%d%d%d%-%d%d%-%d%d$") ~= nil end,
  time = function(s) return string_find(s, "^%d%d:%d%d:%d%d") ~= nil end,
  phone = function(s)
    return string_find(s, "^%+?[%d%s%-%(%)%.]+$") ~= nil and #string_gsub(s, "%D", "") >= 7
  end,
  uuid = function(s)
    return string_find(s, "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$") ~= nil
  end,
  hostname = function(s)
    return #s <= 253 and string_find(s, "^[%w]([%w%-]*[%w])?(%.[%w]([%w%-]*[%w])?)*$") ~= nil
  end,
  ipv4 = function(s)
    local a, b, c, d = string_match(s, "^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
    if not a then return false end
    for _, x in ipairs{ a, b, c, d } do
      if tonumber(x) > 255 or (#x > 1 and x:sub(1, 1) == "0") then return false end
    end
    return true
  end,
}
FORMATS.url = FORMATS.uri
FORMATS["phone-number"] = FORMATS.phone

--- A validator for values decoded with adapter = {null = sentinel, is_array = fn}.
function M.new(adapter)
  adapter = adapter or {}
  local null = adapter.null
  if null == nil then null = {} end -- a sentinel nothing decoded can equal
  local is_array = adapter.is_array or function(v)
    return type(v) == "table" and v[1] ~= nil
  end

  local S = { FORMATS = FORMATS, child = child, TYPES = TYPES, is_array = is_array, null = null }

  local function is_object(v)
    return type(v) == "table" and v ~= null and not is_array(v)
  end
  S.is_object = is_object

  local function deep_equal(a, b)
    if a == b then return true end
    if type(a) ~= "table" or type(b) ~= "table" then return false end
    if is_array(a) ~= is_array(b) then return false end
    for k, v in pairs(a) do
      if not deep_equal(v, b[k]) then return false end
    end
    for k in pairs(b) do
      if a[k] == nil then return false end
    end
    return true
  end
  S.deep_equal = deep_equal

  --- Resolve "#/a/b" (a local JSON pointer) against root, or nil.
  function S.resolve(root, ref)
    if ref == "#" then return root end
    local path = string_match(ref, "^#/(.*)$")
    if not path then return nil end
    local node = root
    for part in string_gmatch(path, "[^/]+") do
      part = string_gsub(string_gsub(string_gsub(part, "~1", "/"), "~0", "~"), "%%(%x%x)", function(h)
        return string_char(tonumber(h, 16))
      end)
      if type(node) ~= "table" then return nil end
      local nxt = node[part]
      if nxt == nil and is_array(node) and tonumber(part) then nxt = node[tonumber(part) + 1] end
      node = nxt
    end
    return node
  end

  --- Follow $ref chains: the schema, or nil, message.
  function S.deref(root, s)
    local seen = 0
    while type(s) == "table" and type(s["$ref"]) == "string" do
      local target = S.resolve(root, s["$ref"])
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
  S.types_of = types_of

  -- Structural check ----------------------------------------------------------

  local function check(root, s, path, depth)
    if s == true or s == false then return nil end
    if not is_object(s) then return path .. " must be a schema object" end
    if depth > 64 then return nil end
    if s["$ref"] ~= nil then
      if type(s["$ref"]) ~= "string" then return path .. ".$ref must be a string" end
      if S.resolve(root, s["$ref"]) == nil then return path .. ": $ref " .. s["$ref"] .. " does not resolve" end
    end
    if s.type ~= nil then
      local list = types_of(s)
      if type(list) ~= "table" or #list == 0 then return path .. ".type must be a string or array" end
      for _, x in ipairs(list) do
        if not TYPES[x] then return path .. ".type has unknown type " .. tostring(x) end
      end
    end
    if s.properties ~= nil then
      if not is_object(s.properties) then return path .. ".properties must be an object" end
      for k, sub in pairs(s.properties) do
        local e = check(root, sub, path .. ".properties." .. tostring(k), depth + 1)
        if e then return e end
      end
    end
    if s.required ~= nil then
      if type(s.required) ~= "table" or (not is_array(s.required) and next(s.required) ~= nil) then
        return path .. ".required must be an array"
      end
      for _, k in ipairs(s.required) do
        if type(k) ~= "string" then return path .. ".required must hold strings" end
      end
    end
    for _, k in ipairs{ "items", "additionalProperties", "additionalItems", "not", "contains", "propertyNames",
      "if", "then", "else" } do
      local sub = s[k]
      if sub ~= nil and type(sub) ~= "boolean" then
        if k == "items" and is_array(sub) then
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
    for _, k in ipairs{ "anyOf", "oneOf", "allOf", "prefixItems" } do
      if s[k] ~= nil then
        if not is_array(s[k]) or #s[k] == 0 then return path .. "." .. k .. " must be a non-empty array" end
        for i, x in ipairs(s[k]) do
          local e = check(root, x, path .. "." .. k .. "[" .. (i - 1) .. "]", depth + 1)
          if e then return e end
        end
      end
    end
    for _, k in ipairs{ "$defs", "definitions" } do
      if s[k] ~= nil then
        if not is_object(s[k]) then return path .. "." .. k .. " must be an object" end
        for name, x in pairs(s[k]) do
          local e = check(root, x, path .. "." .. k .. "." .. tostring(name), depth + 1)
          if e then return e end
        end
      end
    end
    if s.enum ~= nil and (not is_array(s.enum) or #s.enum == 0) then
      return path .. ".enum must be a non-empty array"
    end
    for _, k in ipairs{ "minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties",
      "minContains", "maxContains" } do
      local v = s[k]
      if v ~= nil and (not is_integer(v) or v < 0) then
        return path .. "." .. k .. " must be a non-negative integer"
      end
    end
    for _, k in ipairs{ "minimum", "maximum", "multipleOf" } do
      if s[k] ~= nil and type(s[k]) ~= "number" then return path .. "." .. k .. " must be a number" end
    end
    for _, k in ipairs{ "exclusiveMinimum", "exclusiveMaximum" } do
      local v = s[k]
      if v ~= nil and type(v) ~= "number" and type(v) ~= "boolean" then
        return path .. "." .. k .. " must be a number"
      end
    end
    if s.minItems and s.maxItems and s.minItems > s.maxItems then return path .. ": minItems > maxItems" end
    if s.minLength and s.maxLength and s.minLength > s.maxLength then return path .. ": minLength > maxLength" end
    if s.minimum and s.maximum and s.minimum > s.maximum then return path .. ": minimum > maximum" end
    if s.multipleOf and s.multipleOf <= 0 then return path .. ".multipleOf must be > 0" end
    return nil
  end

  --- nil when s is usable as an output schema, else a message.
  function S.check(s)
    if not is_object(s) then return "the schema must be an object" end
    return check(s, s, "outputSchema", 0)
  end

  -- Validation ----------------------------------------------------------------

  local function json_type(v)
    if v == null then return "null" end
    local t = type(v)
    if t == "table" then return is_array(v) and "array" or "object" end
    return t
  end
  S.json_type = json_type

  local function type_ok(want, v, have)
    if want == have then return true end
    return want == "integer" and have == "number" and is_integer(v)
  end

  -- ctx = {root=, errs=, max=, allow_null=}; adds {path=, message=} to ctx.errs.
  local walk

  local function add(ctx, path, message)
    local errs = ctx.errs
    errs[#errs + 1] = { path = path, message = message }
  end

  local function full(ctx) return #ctx.errs >= ctx.max end

  -- Does v pass s? (a sub-check whose errors are not reported; the first is returned)
  local function passes(ctx, s, v, path)
    local sub = { root = ctx.root, errs = {}, max = 1, allow_null = ctx.allow_null, depth = ctx.depth,
      base = ctx.base }
    walk(sub, s, v, path)
    local e = sub.errs[1]
    return e == nil, e
  end

  local function describe(v)
    local t = json_type(v)
    if t == "string" then
      if #v > 40 then v = v:sub(1, 40) .. "..." end
      return string_format("%q", v)
    elseif t == "number" or t == "boolean" then
      return tostring(v)
    end
    return t
  end

  local function check_number(ctx, s, v, path)
    local min, max = s.minimum, s.maximum
    if type(min) == "number" then
      if s.exclusiveMinimum == true and v <= min then
        add(ctx, path, string_format("%s must be greater than %s", tostring(v), tostring(min)))
      elseif v < min then
        add(ctx, path, string_format("%s is below the minimum %s", tostring(v), tostring(min)))
      end
    end
    if type(max) == "number" then
      if s.exclusiveMaximum == true and v >= max then
        add(ctx, path, string_format("%s must be less than %s", tostring(v), tostring(max)))
      elseif v > max then
        add(ctx, path, string_format("%s is above the maximum %s", tostring(v), tostring(max)))
      end
    end
    if type(s.exclusiveMinimum) == "number" and v <= s.exclusiveMinimum then
      add(ctx, path, string_format("%s must be greater than %s", tostring(v), tostring(s.exclusiveMinimum)))
    end
    if type(s.exclusiveMaximum) == "number" and v >= s.exclusiveMaximum then
      add(ctx, path, string_format("%s must be less than %s", tostring(v), tostring(s.exclusiveMaximum)))
    end
    local m = s.multipleOf
    if type(m) == "number" and m > 0 then
      local q = v / m
      if math_abs(q - math_floor(q + 0.5)) > 1e-9 then
        add(ctx, path, string_format("%s is not a multiple of %s", tostring(v), tostring(m)))
      end
    end
  end

  local function check_string(ctx, s, v, path)
    if s.minLength and ulen(v) < s.minLength then
      add(ctx, path, string_format("shorter than minLength %d", s.minLength))
    end
    if s.maxLength and ulen(v) > s.maxLength then
      add(ctx, path, string_format("longer than maxLength %d", s.maxLength))
    end
    local fmt = type(s.format) == "string" and FORMATS[s.format]
    if fmt and not fmt(v) then
      add(ctx, path, string_format("%s is not a valid %s", describe(v), s.format))
    end
  end

  local function check_array(ctx, s, v, path)
    local n = #v
    if s.minItems and n < s.minItems then
      add(ctx, path, string_format("has %d items, fewer than minItems %d", n, s.minItems))
    end
    if s.maxItems and n > s.maxItems then
      add(ctx, path, string_format("has %d items, more than maxItems %d", n, s.maxItems))
    end
    local prefix = s.prefixItems or (is_array(s.items) and s.items) or nil
    for i = 1, n do
      if full(ctx) then return end
      local sub
      if prefix and prefix[i] ~= nil then
        sub = prefix[i]
      elseif prefix then
        if s.prefixItems then sub = s.items else sub = s.additionalItems end
      else
        sub = s.items
      end
      if sub ~= nil then walk(ctx, sub, v[i], string_format("%s[%d]", path, i - 1)) end
    end
    if s.uniqueItems == true then
      for i = 2, n do
        for j = 1, i - 1 do
          if deep_equal(v[i], v[j]) then
            add(ctx, path, string_format("items %d and %d are equal (uniqueItems)", j - 1, i - 1))
            return
          end
        end
      end
    end
    if s.contains ~= nil then
      local hits = 0
      for i = 1, n do
        if passes(ctx, s.contains, v[i], path) then hits = hits + 1 end
      end
      local minc = s.minContains or 1
      if hits < minc then
        add(ctx, path, string_format("%d items match contains, fewer than %d", hits, minc))
      elseif s.maxContains and hits > s.maxContains then
        add(ctx, path, string_format("%d items match contains, more than %d", hits, s.maxContains))
      end
    end
  end

  local function sorted_keys(t)
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table_sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    return keys
  end

  local function check_object(ctx, s, v, path)
    local req = s.required
    if type(req) == "table" then
      for _, k in ipairs(req) do
        if v[k] == nil then add(ctx, child(path, k), "missing required property " .. describe(k)) end
      end
    end
    local deps = s.dependentRequired or s.dependencies
    if type(deps) == "table" then
      for k, d in pairs(deps) do
        if v[k] ~= nil then
          if is_array(d) then
            for _, r in ipairs(d) do
              if v[r] == nil then
                add(ctx, child(path, r), string_format("missing property %s (required by %s)", describe(r), describe(k)))
              end
            end
          elseif s.dependencies == deps then
            walk(ctx, d, v, path)
          end
        end
      end
    end
    if type(s.dependentSchemas) == "table" then
      for k, d in pairs(s.dependentSchemas) do
        if v[k] ~= nil then walk(ctx, d, v, path) end
      end
    end
    local count = 0
    local props = type(s.properties) == "table" and s.properties or {}
    local loose = type(s.patternProperties) == "table" and next(s.patternProperties) ~= nil
    for _, k in ipairs(sorted_keys(v)) do
      if full(ctx) then return end
      count = count + 1
      local x = v[k]
      if s.propertyNames ~= nil and not passes(ctx, s.propertyNames, k, path) then
        add(ctx, child(path, k), "property name " .. describe(k) .. " does not match propertyNames")
      end
      local sub = props[k]
      if sub == nil and not loose then sub = s.additionalProperties end
      if sub == false then
        add(ctx, child(path, k), "unexpected property " .. describe(k) .. " (additionalProperties is false)")
      elseif sub ~= nil then
        walk(ctx, sub, x, child(path, k))
      end
    end
    if s.minProperties and count < s.minProperties then
      add(ctx, path, string_format("has %d properties, fewer than minProperties %d", count, s.minProperties))
    end
    if s.maxProperties and count > s.maxProperties then
      add(ctx, path, string_format("has %d properties, more than maxProperties %d", count, s.maxProperties))
    end
  end

  walk = function(ctx, s, v, path)
    if full(ctx) then return end
    if s == true or s == nil then return end
    if s == false then return add(ctx, path, "no value is allowed here (false schema)") end
    local err
    s, err = S.deref(ctx.root, s)
    if s == nil then return add(ctx, path, err) end
    if s == true then return end
    if s == false then return add(ctx, path, "no value is allowed here (false schema)") end
    if type(s) ~= "table" then return end
    ctx.depth = ctx.depth + 1
    if ctx.depth > 200 then
      ctx.depth = ctx.depth - 1
      return add(ctx, path, "schema nests too deeply")
    end
    if v == null and ctx.allow_null and path ~= ctx.base then
      ctx.depth = ctx.depth - 1
      return
    end
    local have = json_type(v)
    local list = types_of(s)
    if list then
      local ok = false
      for _, t in ipairs(list) do
        if type_ok(t, v, have) then ok = true break end
      end
      if not ok then
        ctx.depth = ctx.depth - 1
        return add(ctx, path, string_format("expected %s, got %s", table_concat(list, " or "), describe(v)))
      end
    end
    if s.const ~= nil and not deep_equal(s.const, v) then
      add(ctx, path, describe(v) .. " is not the const value")
    end
    if s.enum ~= nil and type(s.enum) == "table" then
      local ok = false
      for _, e in ipairs(s.enum) do
        if deep_equal(e, v) then ok = true break end
      end
      if not ok then
        local shown = {}
        for i, e in ipairs(s.enum) do
          if i > 8 then shown[#shown + 1] = "..." break end
          shown[#shown + 1] = describe(e)
        end
        add(ctx, path, describe(v) .. " is not one of " .. table_concat(shown, ", "))
      end
    end
    if have == "number" then check_number(ctx, s, v, path)
    elseif have == "string" then check_string(ctx, s, v, path)
    elseif have == "array" then check_array(ctx, s, v, path)
    elseif have == "object" then check_object(ctx, s, v, path)
    end
    if type(s.allOf) == "table" then
      for _, sub in ipairs(s.allOf) do walk(ctx, sub, v, path) end
    end
    if type(s.anyOf) == "table" then
      local ok, why = false, {}
      for i, sub in ipairs(s.anyOf) do
        local pass, e = passes(ctx, sub, v, path)
        if pass then ok = true break end
        if i <= 3 then why[#why + 1] = (e.path ~= path and (e.path .. ": ") or "") .. e.message end
      end
      if not ok then add(ctx, path, "matches no anyOf branch (" .. table_concat(why, "; ") .. ")") end
    end
    if type(s.oneOf) == "table" then
      local n = 0
      for _, sub in ipairs(s.oneOf) do
        if passes(ctx, sub, v, path) then n = n + 1 end
      end
      if n ~= 1 then add(ctx, path, string_format("matches %d oneOf branches, not exactly 1", n)) end
    end
    if s["not"] ~= nil and passes(ctx, s["not"], v, path) then
      add(ctx, path, "matches the schema under not")
    end
    if s["if"] ~= nil then
      if passes(ctx, s["if"], v, path) then
        if s["then"] ~= nil then walk(ctx, s["then"], v, path) end
      elseif s["else"] ~= nil then
        walk(ctx, s["else"], v, path)
      end
    end
    ctx.depth = ctx.depth - 1
  end

  --- Every error of v against s (up to opts.max, default 100), as a list of
  --- {path=, message=}. opts: root (for $ref, default s), path (default "$"),
  --- allow_null (null passes anywhere below the root).
  function S.errors(s, v, opts)
    opts = opts or {}
    local path = opts.path or "$"
    local ctx = { root = opts.root or s, errs = {}, max = opts.max or 100, allow_null = opts.allow_null,
      base = path, depth = 0 }
    walk(ctx, s, v, path)
    return ctx.errs
  end

  --- true, or false and "path: message" for the first error.
  function S.validate(s, v, root)
    local errs = S.errors(s, v, { root = root, max = 1 })
    if #errs == 0 then return true end
    return false, errs[1].path .. ": " .. errs[1].message
  end

  return S
end

return M
