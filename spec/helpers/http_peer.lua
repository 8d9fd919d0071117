-- http_peer.lua - a tiny raw-socket HTTP/1.1 server for spec/http_core_spec.lua.
--
--   lua5.4 spec/helpers/http_peer.lua [lifetime_s]
--
-- Prints its port on the first stdout line, then serves until killed (or
-- until lifetime_s, default 900, as a guard against orphans).  Every response
-- carries X-Conn (the serial number of the TCP connection it went out on) and
-- X-Conns (connections accepted so far), so a test can count connections.
--
-- Routes (query parameters in brackets):
--   /json                      a small JSON body (HEAD: its head alone)
--   /echo                      JSON {method, path, headers, body}
--   /status?code=N             status N with a JSON error body
--   /multi-header              two X-Multi headers
--   /early-hints               103 Early Hints before the final 200
--   /odd-headers               a folded header, padded and empty values, chunked trailers
--   /huge-headers?n=           n header lines of 1 KiB each
--   /empty-reply               reads the request, closes without a byte
--   /chunked                   chunked body sent in three pieces
--   /gzip                      gzip-encoded body
--   /big?size=N                N bytes of 'x'
--   /drip?delay=ms             JSON body written one byte at a time
--   /sse?n=&delay=&hold=       event stream, delay ms between events, hold ms before the end
--   /sse-401                   401 JSON, whatever the Accept header says
--   /sse-drip                  event stream written one byte at a time
--   /sse-keepalive?n=&every=   n ": ping" comments every ms, then one event
--   /sse-hang                  one event, then silence with the connection open
--   /sse-cut                   two events, then the socket closes mid-chunked-body
--   /sse-big?n=&size=          n events of size bytes, as fast as the socket takes them
--   /sse-json                  200 application/json to an sse request
--   /hang                      reads the request and never answers
--   /sse-chunks (POST {chunks = {hex}, framing = "chunked"|"close"})  an event stream, one write per chunk
--   /endless?what=             a head that never ends (what=interim: 1xx heads, headers: header
--                              lines, trailers: an event stream whose trailer lines never end),
--                              1 KiB or so per write, until the client hangs up (20 MB at most)
--   /raw?file=PATH[&keep=1][&drip=N]  the bytes of the file PATH verbatim (a whole hostile response,
--                              head and body; drip=N: N bytes per write, 1 ms apart), then closes
--                              the connection (keep=1: serves on)
--   /raw?file=PATH&endless=N&key=K   the file, then its last N bytes again and again until the client
--                              stops reading or 64 MiB went out; /sent?key=K says how many bytes went out
--   /die?key=K                 reads the request, counts it under K, closes without a byte
--   /hits?key=K                JSON {hits = requests /die counted under K}
--   absolute-form request lines (proxy use) get {"proxied":true,"target":...}
local cqueues = require "cqueues"
local socket = require "cqueues.socket"
local cjson = require "cjson"

local lifetime = tonumber(arg[1]) or 900
local cq = cqueues.new()
local srv = assert(socket.listen { host = "127.0.0.1", port = 0, reuseaddr = true })
assert(srv:listen())
local _, _, port = srv:localname()
io.stdout:write(port, "\n")
io.stdout:flush()

local conns = 0
local sleep = cqueues.sleep

local GZ_TEXT = string.rep("the quick brown fox jumps over the lazy dog\n", 200)
local function gzip(s)
  local tmp = os.tmpname()
  local f = assert(io.open(tmp, "wb"))
  f:write(s)
  f:close()
  local p = assert(io.popen("gzip -c < " .. tmp, "r"))
  local z = p:read("*a")
  p:close()
  os.remove(tmp)
  return z
end
local GZ_BODY = gzip(GZ_TEXT)

local function query(q)
  local t = {}
  for k, v in (q or ""):gmatch("([^&=]+)=([^&]*)") do t[k] = v end
  return t
end

local function send(c, s)
  assert(c:write(s))
  assert(c:flush())
end

local function head(c, id, status, reason, headers)
  local out = { ("HTTP/1.1 %d %s\r\n"):format(status, reason) }
  headers[#headers + 1] = "X-Conn: " .. id
  headers[#headers + 1] = "X-Conns: " .. conns
  for _, h in ipairs(headers) do out[#out + 1] = h .. "\r\n" end
  out[#out + 1] = "\r\n"
  send(c, table.concat(out))
end

local function respond(c, id, status, ctype, body, extra)
  local h = { "Content-Type: " .. ctype, "Content-Length: " .. #body }
  for _, e in ipairs(extra or {}) do h[#h + 1] = e end
  head(c, id, status, status == 200 and "OK" or "Status", h)
  send(c, body)
end

local function chunk(c, s) send(c, ("%x\r\n%s\r\n"):format(#s, s)) end
local function sse_head(c, id)
  head(c, id, 200, "OK", { "Content-Type: text/event-stream", "Cache-Control: no-cache",
    "Transfer-Encoding: chunked" })
end

local routes = {}

routes["/json"] = function(c, id, req)
  local body = cjson.encode { ok = true, conn = id }
  if req.method == "HEAD" then
    head(c, id, 200, "OK", { "Content-Type: application/json", "Content-Length: " .. #body })
  else
    respond(c, id, 200, "application/json", body)
  end
end

routes["/echo"] = function(c, id, req)
  respond(c, id, 200, "application/json",
    cjson.encode { method = req.method, path = req.target, headers = req.headers, body = req.body })
end

routes["/status"] = function(c, id, req)
  local code = tonumber(query(req.query).code) or 500
  respond(c, id, code, "application/json",
    cjson.encode { error = { type = "status_" .. code, message = "you asked for " .. code } })
end

routes["/multi-header"] = function(c, id)
  respond(c, id, 200, "text/plain", "ok", { "X-Multi: a", "X-Multi: b", "x-multi: c" })
end

routes["/early-hints"] = function(c, id)
  send(c, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\nX-Interim: yes\r\n\r\n")
  sleep(0.05)
  respond(c, id, 200, "text/plain", "final", { "X-Final: yes" })
end

routes["/odd-headers"] = function(c, id)
  head(c, id, 200, "OK", { "Content-Type: text/plain", "Transfer-Encoding: chunked", "Trailer: X-Trailer",
    "X-Folded: first", " \t second", "X-Padded: \t padded value \t", "X-Empty:" })
  chunk(c, "body")
  send(c, "0\r\nX-Trailer: late\r\n\r\n")
end

routes["/huge-headers"] = function(c, id, req)
  local h, pad = { "Content-Type: text/plain", "Content-Length: 2" }, string.rep("h", 1024)
  for i = 1, tonumber(query(req.query).n) or 300 do h[#h + 1] = ("X-H%d: %s"):format(i, pad) end
  head(c, id, 200, "OK", h)
  send(c, "ok")
end

routes["/empty-reply"] = function() return "close" end

routes["/chunked"] = function(c, id)
  head(c, id, 200, "OK", { "Content-Type: text/plain", "Transfer-Encoding: chunked" })
  for _, part in ipairs { "alpha,", "beta,", "gamma" } do
    chunk(c, part)
    sleep(0.02)
  end
  send(c, "0\r\n\r\n")
end

routes["/gzip"] = function(c, id)
  respond(c, id, 200, "text/plain", GZ_BODY, { "Content-Encoding: gzip" })
end

routes["/big"] = function(c, id, req)
  local n = tonumber(query(req.query).size) or 1000
  respond(c, id, 200, "application/octet-stream", string.rep("x", n))
end

routes["/drip"] = function(c, id, req)
  local delay = (tonumber(query(req.query).delay) or 2) / 1000
  local body = cjson.encode { dripped = true, text = "one byte at a time" }
  head(c, id, 200, "OK", { "Content-Type: application/json", "Content-Length: " .. #body })
  for i = 1, #body do
    send(c, body:sub(i, i))
    sleep(delay)
  end
end

local function event(i, extra)
  return ("event: tick\nid: %d\n%sdata: {\"i\":%d}\n\n"):format(i, extra or "", i)
end

routes["/sse"] = function(c, id, req)
  local q = query(req.query)
  local n, delay, hold = tonumber(q.n) or 3, (tonumber(q.delay) or 50) / 1000, (tonumber(q.hold) or 0) / 1000
  sse_head(c, id)
  for i = 1, n do
    chunk(c, event(i, i == 1 and "retry: 1500\n" or nil))
    if i < n then sleep(delay) end
  end
  sleep(hold)
  send(c, "0\r\n\r\n")
end

routes["/sse-401"] = function(c, id)
  respond(c, id, 401, "application/json",
    cjson.encode { error = { type = "authentication_error", message = "bad key" } })
end

routes["/sse-json"] = function(c, id)
  respond(c, id, 200, "application/json", cjson.encode { not_a_stream = true })
end

routes["/sse-drip"] = function(c, id)
  sse_head(c, id)
  local s = ": hello\r\n" .. event(1) .. "data: line one\r\ndata: line two\r\rdata: last\n\n"
  for i = 1, #s do
    chunk(c, s:sub(i, i))
    sleep(0.001)
  end
  send(c, "0\r\n\r\n")
end

routes["/sse-keepalive"] = function(c, id, req)
  local q = query(req.query)
  local n, every = tonumber(q.n) or 5, (tonumber(q.every) or 100) / 1000
  sse_head(c, id)
  for _ = 1, n do
    sleep(every)
    chunk(c, ": ping\n\n")
  end
  chunk(c, event(1))
  send(c, "0\r\n\r\n")
end

routes["/sse-hang"] = function(c, id)
  sse_head(c, id)
  chunk(c, event(1))
  sleep(3600)
end

routes["/sse-cut"] = function(c, id)
  sse_head(c, id)
  chunk(c, event(1) .. event(2))
  sleep(0.05)
  chunk(c, "data: never fini") -- an unterminated block, then the connection drops
  sleep(0.05)
  c:shutdown("w")
  return "close"
end

routes["/sse-big"] = function(c, id, req)
  local q = query(req.query)
  local n, size = tonumber(q.n) or 1000, tonumber(q.size) or 1000
  sse_head(c, id)
  local pad = string.rep("y", size)
  for i = 1, n do
    chunk(c, ("id: %d\ndata: %s\n\n"):format(i, pad))
  end
  send(c, "0\r\n\r\n")
end

-- POST {chunks = {hex, ...}, framing = "chunked"|"close"}: an event stream
-- written one chunk per write, 1 ms apart (chunked: one HTTP chunk each)
routes["/sse-chunks"] = function(c, _, req)
  local o = cjson.decode(req.body)
  local chunked = o.framing == "chunked"
  send(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n" ..
    (chunked and "Transfer-Encoding: chunked\r\n" or "Connection: close\r\n") .. "\r\n")
  for _, h in ipairs(o.chunks) do
    local bytes = h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)
    if #bytes > 0 then
      if chunked then chunk(c, bytes) else send(c, bytes) end
      sleep(0.001)
    end
  end
  if chunked then send(c, "0\r\n\r\n") end
  c:shutdown("w")
  return "close"
end

routes["/hang"] = function() sleep(3600) end

-- /raw?endless=: how many bytes went out under each key, and where a peer stops
local sent, ENDLESS_CAP = {}, 64 * 1024 * 1024
routes["/sent"] = function(c, id, req)
  respond(c, id, 200, "application/json", cjson.encode { sent = sent[query(req.query).key or ""] or 0,
    cap = ENDLESS_CAP })
end

routes["/endless"] = function(c, id, req)
  local what = query(req.query).what
  local piece
  if what == "interim" then
    piece = "HTTP/1.1 100 Continue\r\nX-Pad: " .. ("p"):rep(1000) .. "\r\n\r\n"
  elseif what == "headers" then
    send(c, "HTTP/1.1 200 OK\r\n")
    piece = "X-H: " .. ("h"):rep(1000) .. "\r\n"
  else
    sse_head(c, id)
    chunk(c, event(1))
    send(c, "0\r\n")
    piece = "X-T: " .. ("t"):rep(1000) .. "\r\n"
  end
  for _ = 1, 20000 do
    if not c:write(piece) or not c:flush() then break end
  end
  return "close"
end

routes["/raw"] = function(c, _, req)
  local q = query(req.query)
  local f = assert(io.open(q.file, "rb"))
  local bytes = f:read("*a")
  f:close()
  local drip, endless = tonumber(q.drip), tonumber(q.endless)
  if endless then -- the head, then its last `endless` bytes again and again, counted under key
    local k, unit = q.key or "", bytes:sub(-endless)
    local block = unit:rep(math.max(1, (64 * 1024) // #unit))
    send(c, bytes:sub(1, #bytes - endless))
    sent[k] = #bytes - endless
    while sent[k] < ENDLESS_CAP do
      if not c:write(block) or not c:flush() then return "close" end
      sent[k] = sent[k] + #block
    end
    return "close"
  elseif drip then -- a few bytes per write, 1 ms apart: CR and LF, lines and chunks arrive split
    for i = 1, #bytes, drip do
      send(c, bytes:sub(i, i + drip - 1))
      sleep(0.001)
    end
  else
    send(c, bytes)
  end
  if q.keep ~= "1" then
    sleep(0.02)
    c:shutdown("w")
    return "close"
  end
end

local hits = {}
routes["/die"] = function(_, _, req)
  local k = query(req.query).key or ""
  hits[k] = (hits[k] or 0) + 1
  return "close"
end

routes["/hits"] = function(c, id, req)
  respond(c, id, 200, "application/json", cjson.encode { hits = hits[query(req.query).key or ""] or 0 })
end

local function read_request(c)
  local line = c:read("*l")
  if not line then return nil end
  line = line:gsub("\r$", "")
  local method, target = line:match("^(%S+) (%S+) HTTP/1%.%d$")
  if not method then return nil end
  local req = { method = method, target = target, headers = {} }
  while true do
    local h = c:read("*l")
    if not h then return nil end
    h = h:gsub("\r$", "")
    if h == "" then break end
    local name, value = h:match("^([^:]+):%s*(.-)%s*$")
    if name then req.headers[name:lower()] = value end
  end
  local path, q = target:match("^([^?]*)%??(.*)$")
  req.path, req.query = path, q
  return req
end

local function serve(c, id)
  c:setmode("b", "b")
  while true do
    local req = read_request(c)
    if not req then break end
    if (req.headers.expect or ""):lower() == "100-continue" then
      send(c, "HTTP/1.1 100 Continue\r\n\r\n")
    end
    local len = tonumber(req.headers["content-length"] or "0")
    req.body = len > 0 and c:read(len) or ""
    if req.target:match("^https?://") then
      respond(c, id, 200, "application/json", cjson.encode { proxied = true, target = req.target })
    else
      local route = routes[req.path]
      if not route then
        respond(c, id, 404, "text/plain", "no route " .. req.path)
      elseif route(c, id, req) == "close" then
        break
      end
    end
    if (req.headers.connection or ""):lower() == "close" then break end
  end
end

cq:wrap(function()
  while true do
    local c = srv:accept()
    if c then
      conns = conns + 1
      local id = conns
      cq:wrap(function()
        pcall(serve, c, id)
        pcall(c.close, c)
      end)
    end
  end
end)

cq:wrap(function()
  sleep(lifetime)
  os.exit(0)
end)

while true do
  local ok, err = cq:loop()
  if ok then break end
  io.stderr:write("http_peer: ", tostring(err), "\n")
end
