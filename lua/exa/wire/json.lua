-- exa.wire.json: JSON for the whole package, through exa.core's private lua-cjson
-- instance. JSON null is json.null (== exa.null); arrays decode as tables
-- with json.array_mt (empty ones too) and such tables encode as arrays even
-- when empty. encode/decode return nil, message on failure; they never raise
-- for bad data.
local core = require "exa.core"

local setmetatable, getmetatable, type, pcall = setmetatable, getmetatable, type, pcall

local core_encode = core.json_encode

local json = {
  null = core.null,
  array_mt = core.array_mt,
  decode = core.json_decode,
}

--- v as JSON text, or nil and a message. The core raises (rather than
--- returns) for a table nested deeper than cjson's limit of 1000 or a
--- cycle; that is bad data too, so it comes back as nil, message.
function json.encode(v)
  local ok, s, err = pcall(core_encode, v)
  if not ok then return nil, s end
  if s == nil then return nil, err end
  return s -- one value: f:write(json.encode(v)) must not see a trailing nil
end

--- Mark t (or a new table) as a JSON array: it encodes as [] when empty.
function json.array(t)
  return setmetatable(t or {}, core.array_mt)
end

function json.is_array(v)
  return type(v) == "table" and getmetatable(v) == core.array_mt
end

return json
