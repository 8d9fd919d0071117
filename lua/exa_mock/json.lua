-- exa_mock.json: the simulator's JSON, on plain lua-cjson (its own
-- cjson.new() instance), so the simulator needs neither exa.core nor the
-- client. What it adds to cjson 2.1.0, because the contract needs it:
--   - decoded arrays keep their array-ness: every JSON array becomes a table
--     with json.array_mt, empty ones too ([] and {} are both an empty table
--     in cjson, so empty arrays are marked in the text before decoding);
--   - tables with json.array_mt encode as arrays even when empty ([]);
--   - on Lua 5.3+, integral numbers decode as integers (cjson gives floats);
--   - '/' is written unescaped, as the real service writes it.
-- JSON null is json.null (cjson.null, the same value as exa.null).
-- encode/decode return nil, message on failure; they never raise for bad data.
local setmetatable, getmetatable, type, next, pcall, tostring, rawget, rawset =
  setmetatable, getmetatable, type, next, pcall, tostring, rawget, rawset
local string_find, string_match, string_sub, string_byte, string_gsub =
  string.find, string.match, string.sub, string.byte, string.gsub
local table_concat = table.concat
local math_tointeger = math.tointeger -- nil before 5.3

local ok, cjson = pcall(require, "cjson")
if not ok then
  error("exa-agent-mock needs lua-cjson for Lua " .. _VERSION:match("%d.%d") ..
    ": apt-get install lua-cjson (Debian/Ubuntu) or luarocks install lua-cjson", 0)
end
cjson = cjson.new()
cjson.decode_max_depth(1000)
cjson.encode_max_depth(1000)

local json = { null = cjson.null, array_mt = { __name = "exa_mock.json.array" } }
local array_mt = json.array_mt

-- An empty array in the text becomes an array holding this one string,
-- which no request can contain by accident (a NUL and a per-process tag).
local PLACEHOLDER = "\0exa_mock.empty_array " .. tostring(json):gsub("^table: ", "")
  .. " " .. tostring(os.time())
local PLACEHOLDER_JSON = cjson.encode(PLACEHOLDER) -- quoted, with \u0000

-- s with every "[ ]" outside strings holding the placeholder; s itself when
-- it has none (the common case costs one find).
local function mark_empty_arrays(s)
  if not string_find(s, "%[%s*%]") then return s end
  local out, n, from, i, in_str = {}, 0, 1, 1, false
  while true do
    local p = string_find(s, in_str and '["\\]' or '["%[]', i)
    if not p then break end
    local c = string_byte(s, p)
    if in_str then
      if c == 92 then i = p + 2 else in_str = false; i = p + 1 end
    elseif c == 34 then
      in_str = true
      i = p + 1
    else
      local close = string_match(s, "^%s*()%]", p + 1)
      if close then
        out[n + 1], out[n + 2] = string_sub(s, from, p), PLACEHOLDER_JSON
        n = n + 2
        from = close
        i = close + 1
      else
        i = p + 1
      end
    end
  end
  out[n + 1] = string_sub(s, from)
  return table_concat(out)
end

-- Mark arrays (placeholder arrays become empty ones); integral numbers
-- become integers on 5.3+.
local function fix(t, depth)
  if depth > 1000 then error("json: nesting deeper than 1000", 0) end
  if rawget(t, 1) ~= nil then
    setmetatable(t, array_mt)
    if t[1] == PLACEHOLDER and t[2] == nil then
      t[1] = nil
      return
    end
  end
  for k, v in next, t do
    local tv = type(v)
    if tv == "table" then
      fix(v, depth + 1)
    elseif tv == "number" and math_tointeger and v == v and v >= -2 ^ 53 and v <= 2 ^ 53 then
      local i = math_tointeger(v)
      if i then rawset(t, k, i) end -- assigning an existing field during traversal is allowed
    end
  end
end

--- Decode JSON text: value, or nil and a message.
function json.decode(s)
  if type(s) ~= "string" then return nil, "json: decode needs a string" end
  local okd, v = pcall(cjson.decode, mark_empty_arrays(s))
  if not okd then
    local _, msg = pcall(cjson.decode, s) -- the message about the text the caller gave
    return nil, tostring(msg or v)
  end
  if type(v) == "table" then
    local okf, err = pcall(fix, v, 0)
    if not okf then return nil, err end
  elseif type(v) == "number" and math_tointeger then
    v = math_tointeger(v) or v
  end
  return v
end

-- Collect the empty array_mt tables under v (cycles end at the depth bound).
local function empty_arrays(v, found, depth)
  if depth > 1000 then error("json: cannot encode: nesting deeper than 1000 (a cycle?)", 0) end
  if getmetatable(v) == array_mt and next(v) == nil then
    found[#found + 1] = v
    return
  end
  for _, x in next, v do
    if type(x) == "table" then empty_arrays(x, found, depth + 1) end
  end
end

--- Encode a value: JSON text, or nil and a message.
function json.encode(v)
  local found = {}
  if type(v) == "table" then
    local okw, err = pcall(empty_arrays, v, found, 0)
    if not okw then return nil, err end
  end
  -- Each empty array holds the placeholder for the time of one encode (cjson
  -- never calls Lua, so nothing else can see it), then the quoted placeholder
  -- is cut out of the text.
  for i = 1, #found do rawset(found[i], 1, PLACEHOLDER) end
  local oke, s = pcall(cjson.encode, v)
  for i = 1, #found do rawset(found[i], 1, nil) end
  if not oke then return nil, tostring(s) end
  if #found > 0 then s = string_gsub(s, PLACEHOLDER_JSON:gsub("%p", "%%%0"), "") end
  -- cjson escapes every '/' as "\/"; in its output every "\/" pair is that
  -- escape (an escaped backslash before a slash reads "\\\/").
  return (string_gsub(s, "\\/", "/"))
end

--- Mark t (or a new table) as a JSON array: it encodes as [] when empty.
function json.array(t)
  return setmetatable(t or {}, array_mt)
end

function json.is_array(v)
  return type(v) == "table" and getmetatable(v) == array_mt
end

return json
