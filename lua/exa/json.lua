-- exa.json: JSON for the whole package, through exa.core's private lua-cjson
-- instance. JSON null is json.null (== exa.null); arrays decode as tables
-- with json.array_mt (empty ones too) and such tables encode as arrays even
-- when empty. encode/decode return nil, message on failure; they never raise
-- for bad data.
local core = require "exa.core"

local setmetatable, getmetatable, type = setmetatable, getmetatable, type

local json = {
  null = core.null,
  array_mt = core.array_mt,
  encode = core.json_encode,
  decode = core.json_decode,
}

--- Mark t (or a new table) as a JSON array: it encodes as [] when empty.
function json.array(t)
  return setmetatable(t or {}, core.array_mt)
end

function json.is_array(v)
  return type(v) == "table" and getmetatable(v) == core.array_mt
end

return json
