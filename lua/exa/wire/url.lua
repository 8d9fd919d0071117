-- exa.wire.url: percent-encoding, query strings, and the origin of a URL (for
-- same-origin redirects).
local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring
local string_format, string_gsub, string_byte, string_lower, string_match =
  string.format, string.gsub, string.byte, string.lower, string.match
local table_concat, table_sort = table.concat, table.sort
local math_floor = math.floor

local json = require "exa.wire.json"

local M = {}

--- RFC 3986 percent-encoding (unreserved characters kept).
function M.encode(s)
  return (string_gsub(s, "[^%w%-%._~]", function(c)
    return string_format("%%%02X", string_byte(c))
  end))
end
local encode = M.encode

local function query_value(v)
  if type(v) == "number" and v == math_floor(v) then return string_format("%d", v) end
  return tostring(v)
end

--- "?a=1&b=2" from a map (keys sorted: stable URLs), "" when empty.
function M.query_string(q)
  if not q then return "" end
  local keys = {}
  for k, v in pairs(q) do
    if v ~= nil and v ~= json.null then keys[#keys + 1] = k end
  end
  if #keys == 0 then return "" end
  table_sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do
    parts[i] = encode(k) .. "=" .. encode(query_value(q[k]))
  end
  return "?" .. table_concat(parts, "&")
end

local DEFAULT_PORT = { http = "80", https = "443" }

--- scheme, host, port (lower-cased, port defaulted) of an absolute URL.
function M.origin(u)
  local scheme, auth = string_match(u, "^(%a[%w+.-]*)://([^/?#]*)")
  if not scheme then return nil end
  scheme = string_lower(scheme)
  auth = string_gsub(auth, "^.*@", "")
  local host, port = string_match(auth, "^(%[[^%]]*%]):?(%d*)$")
  if not host then host, port = string_match(auth, "^([^:]*):?(%d*)$") end
  if not host then return nil end
  if port == "" then port = DEFAULT_PORT[scheme] end
  return scheme .. "://" .. string_lower(host) .. ":" .. tostring(port)
end

--- Resolve a Location value against the URL it answered.
function M.resolve(base, loc)
  if string_match(loc, "^%a[%w+.-]*://") then return loc end
  local scheme, rest = string_match(base, "^(%a[%w+.-]*:)(.*)$")
  if string_match(loc, "^//") then return scheme .. loc end
  local root = string_match(base, "^(%a[%w+.-]*://[^/?#]*)")
  if string_match(loc, "^/") then return root .. loc end
  local path = string_match(rest, "^//[^/?#]*([^?#]*)") or "/"
  local dir = string_match(path, "^(.*/)") or "/"
  if string_match(loc, "^%?") then return root .. path .. loc end
  return root .. dir .. loc
end

--- A URL without userinfo, for error messages.
function M.display(u)
  return (string_gsub(u, "^(%a[%w+.-]*://)[^/@]*@", "%1"))
end

return M
