-- exa_mock.http: HTTP/1.1 request parsing from a cqueues socket and response
-- head formatting. Nothing here knows about the API.
local http = {}

local MAX_LINE = 8192
local MAX_HEADERS = 100
local MAX_BODY = 8 * 1024 * 1024

http.REASON = {
  [100] = "Continue", [200] = "OK", [400] = "Bad Request", [401] = "Unauthorized",
  [404] = "Not Found", [405] = "Method Not Allowed", [408] = "Request Timeout",
  [413] = "Payload Too Large", [429] = "Too Many Requests", [500] = "Internal Server Error",
  [501] = "Not Implemented", [502] = "Bad Gateway", [503] = "Service Unavailable",
  [504] = "Gateway Timeout",
}

function http.reason(status)
  return http.REASON[status] or "Status " .. status
end

local function unescape(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

function http.parse_query(q)
  local t = {}
  if not q then return t end
  for pair in q:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    k = unescape(k)
    if t[k] == nil then t[k] = unescape(v) end
  end
  return t
end

local function readline(sock, timeout)
  local line, err = sock:xread("*l", "b", timeout)
  if not line then return nil, err end
  if #line >= MAX_LINE then return nil, "line too long" end
  return (line:gsub("\r$", ""))
end

local function read_chunked(sock, timeout)
  local parts, total = {}, 0
  while true do
    local line = readline(sock, timeout)
    local hex = line and line:match("^%s*(%x+)")
    local size = hex and tonumber(hex, 16)
    if not size then return nil, "bad chunk size" end
    if size == 0 then break end
    total = total + size
    if total > MAX_BODY then return nil, "body too large" end
    local data = sock:xread(size, "b", timeout)
    if not data or #data < size then return nil, "short chunk" end
    parts[#parts + 1] = data
    if readline(sock, timeout) ~= "" then return nil, "bad chunk end" end
  end
  repeat -- trailers
    local line = readline(sock, timeout)
    if not line then return nil, "bad trailer" end
  until line == ""
  return table.concat(parts)
end

--- Read one request. Returns req, or nil, kind, message where kind is
--- "closed" (clean EOF between requests), "timeout" or "bad" (answer 400).
function http.read_request(sock, idle_timeout, timeout)
  local line, err
  repeat -- tolerate empty lines before a request (RFC 9112 2.2)
    line, err = readline(sock, idle_timeout)
    if not line then
      if err == "line too long" then return nil, "bad", err end
      return nil, (err == nil or err == 32) and "closed" or "timeout", tostring(err)
    end
  until line ~= ""
  local method, target, version = line:match("^(%u+) (%S+) HTTP/(%d%.%d)$")
  if not method then return nil, "bad", "malformed request line" end
  if version ~= "1.1" and version ~= "1.0" then return nil, "bad", "unsupported HTTP version" end
  local headers, n = {}, 0
  while true do
    line, err = readline(sock, timeout)
    if not line then return nil, "bad", "incomplete headers" end
    if line == "" then break end
    n = n + 1
    if n > MAX_HEADERS then return nil, "bad", "too many headers" end
    local k, v = line:match("^([!#$%%&'*+%-.^_`|~%w]+):%s*(.-)%s*$")
    if not k then return nil, "bad", "malformed header line" end
    k = k:lower()
    headers[k] = headers[k] and (headers[k] .. ", " .. v) or v
  end
  local path, query = target:match("^([^?#]*)%??([^#]*)")
  if not path or path:sub(1, 1) ~= "/" then return nil, "bad", "bad request target" end
  local req = {
    method = method, target = target, version = version, headers = headers,
    path = path, query = http.parse_query(query), body = "",
  }
  local conn = (headers["connection"] or ""):lower()
  if version == "1.1" then
    req.keep_alive = not conn:find("close", 1, true)
  else
    req.keep_alive = conn:find("keep-alive", 1, true) ~= nil
  end
  if (headers["expect"] or ""):lower() == "100-continue" then
    sock:write("HTTP/1.1 100 Continue\r\n\r\n")
    sock:flush()
  end
  local te = headers["transfer-encoding"]
  if te then
    if not te:lower():find("chunked", 1, true) then return nil, "bad", "unsupported transfer-encoding" end
    local body, berr = read_chunked(sock, timeout)
    if not body then return nil, "bad", berr end
    req.body = body
  elseif headers["content-length"] then
    local len = headers["content-length"]:match("^%d+$") and tonumber(headers["content-length"])
    if not len then return nil, "bad", "bad content-length" end
    if len > MAX_BODY then return nil, "bad", "body too large" end
    if len > 0 then
      local body = sock:xread(len, "b", timeout)
      if not body or #body < len then return nil, "bad", "incomplete body" end
      req.body = body
    end
  end
  return req
end

--- Status line and headers. headers is a list of { name, value }.
function http.head(status, headers)
  local t = { ("HTTP/1.1 %d %s\r\n"):format(status, http.reason(status)) }
  for _, h in ipairs(headers) do
    t[#t + 1] = h[1] .. ": " .. h[2] .. "\r\n"
  end
  t[#t + 1] = "\r\n"
  return table.concat(t)
end

return http
