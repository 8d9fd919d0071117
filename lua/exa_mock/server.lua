-- exa_mock.server: the accept loop, per-connection keep-alive loop, response
-- writing (with the transport faults: delay, drip, gzip, drop, close-after-events)
-- and the SSE writer. The API itself lives in exa_mock.router.
local cqueues = require "cqueues"
local socket = require "cqueues.socket"
local http = require "exa_mock.http"
local sse = require "exa_mock.sse"
local gzip = require "exa_mock.gzip"
local errors = require "exa_mock.errors"

local server = {}

local IDLE_TIMEOUT = 120   -- seconds a keep-alive connection may sit idle
local READ_TIMEOUT = 30    -- seconds for the rest of a request once it started
local WRITE_TIMEOUT = 60   -- seconds a write may block on a client that does not read

-- Writer over a socket: plain, or one byte per write when dripping.
local function make_out(sock, drip)
  local delay = type(drip) == "string" and tonumber(drip) and tonumber(drip) / 1000 or nil
  return function(data)
    if data == "" then return true end
    if not drip then
      local ok, err = sock:write(data)
      if ok then ok, err = sock:flush() end
      return ok, err
    end
    for i = 1, #data do
      local ok, err = sock:write(data:sub(i, i))
      if ok then ok, err = sock:flush() end
      if not ok then return nil, err end
      if delay then cqueues.sleep(delay) end
    end
    return true
  end
end

local function base_headers(app, res, req)
  local h = {
    { "Date", os.date("!%a, %d %b %Y %H:%M:%S GMT") },
    { "x-request-id", app.request_id() },
  }
  for _, x in ipairs(res.headers or {}) do h[#h + 1] = x end
  if req and req.headers["x-mock-fault"] then h[#h + 1] = { "Vary", "Accept-Encoding" } end
  return h
end

-- Write a complete (non-streamed) response. Returns keep_alive.
local function write_plain(app, out, req, res, keep)
  local body = res.body or ""
  local h = base_headers(app, res, req)
  h[#h + 1] = { "Content-Type", res.content_type or "application/json" }
  local f = res.faults or {}
  if f.gzip and req and gzip.accepted(req.headers["accept-encoding"]) and req.method ~= "HEAD" then
    body = gzip.compress(body)
    h[#h + 1] = { "Content-Encoding", "gzip" }
  end
  h[#h + 1] = { "Content-Length", tostring(#body) }
  if not keep then h[#h + 1] = { "Connection", "close" } end
  -- Head and body in one write: two small writes meet Nagle + delayed ACK
  -- on the client and cost ~40 ms per response.
  local ok = out(req.method ~= "HEAD" and http.head(res.status, h) .. body or http.head(res.status, h))
  return ok and keep
end

-- Write run's events (after src.after, up to src.upto or the terminal one),
-- keep-alive comments while waiting. Returns true (all sent), "abort" (the
-- close-after-events fault) or nil/false (a write failed).
local function pump(run, src, chunk, eol, limit, ka)
  local idx, sent, ok = src.after, 0, true
  while ok do
    local events = run.events
    local upto = src.upto or #events
    if idx < upto then
      idx = idx + 1
      local ev = events[idx]
      ok = chunk(sse.frame(ev, eol))
      sent = sent + 1
      if ok and limit and sent >= limit then
        return "abort"
      elseif src.upto == nil and ev.terminal then
        break
      end
    elseif src.upto ~= nil then
      break
    else
      local woke = run.cond:wait(ka)
      if not woke and idx >= #run.events then
        ok = chunk(sse.comment("keep-alive", eol))
      end
    end
  end
  return ok
end

-- Stream SSE events of res.sse = { run =, after =, upto = (replay) or nil (live) }.
local function write_sse(app, out, req, res, keep)
  local f = res.faults or {}
  local src = res.sse
  local run = src.run
  local eol = sse.eol(f["sse-eol"] and f["sse-eol"].value)
  local limit = f["close-after-events"] and tonumber(f["close-after-events"].value)
  local ka = f["keepalive-ms"] and tonumber(f["keepalive-ms"].value)
  ka = ka and ka / 1000 or app.keepalive_interval
  local gz = f.gzip and gzip.accepted(req.headers["accept-encoding"]) and gzip.writer() or nil
  local h = base_headers(app, res, req)
  h[#h + 1] = { "Content-Type", "text/event-stream; charset=utf-8" }
  h[#h + 1] = { "Cache-Control", "no-cache" }
  if gz then h[#h + 1] = { "Content-Encoding", "gzip" } end
  h[#h + 1] = { "Transfer-Encoding", "chunked" }
  if not keep then h[#h + 1] = { "Connection", "close" } end
  if not out(http.head(200, h)) then return false end
  local function chunk(s)
    if gz then s = gz:write(s) end
    return out(("%x\r\n"):format(#s) .. s .. "\r\n")
  end
  -- pump returns on every way out (the socket returns I/O errors as values,
  -- see serve), so the count comes back down.
  app.stats.open_streams = app.stats.open_streams + 1
  if app.stats.open_streams > (app.stats.peak_open_streams or 0) then
    app.stats.peak_open_streams = app.stats.open_streams
  end
  local ok = pump(run, src, chunk, eol, limit, ka)
  app.stats.open_streams = app.stats.open_streams - 1
  if ok ~= true then return false end
  if gz then -- the gzip trailer is the last data chunk
    local tail = gz:finish()
    if not out(("%x\r\n"):format(#tail) .. tail .. "\r\n") then return false end
  end
  return out("0\r\n\r\n") and keep
end

local function bad_request(app, out, message)
  local res = {
    status = 400, body = errors.body("INVALID_REQUEST", "INVALID_REQUEST", "Malformed HTTP request: " .. message),
  }
  write_plain(app, out, { method = "GET", headers = {} }, res, false)
end

local serve

local function handle_connection(app, sock)
  local stats = app.stats
  stats.connections = stats.connections + 1
  stats.open_connections = stats.open_connections + 1
  local ok, err = pcall(serve, app, sock)
  if not ok then io.stderr:write("exa-agent-mock: connection error: ", tostring(err), "\n") end
  sock:close()
  stats.open_connections = stats.open_connections - 1
end

serve = function(app, sock)
  local stats = app.stats
  sock:setmode("b", "b")
  sock:setmaxline(8192)
  sock:settimeout(WRITE_TIMEOUT)
  -- A client going away is routine, not a server error: return every I/O
  -- error as a value. cqueues' default handler returns only EPIPE and
  -- ETIMEDOUT and raises the rest, e.g. ECONNRESET when a client closes a
  -- stream with unread events still in its receive buffer.
  sock:onerror(function(_, _, why) return why end)
  local plain_out = make_out(sock, false)
  while true do
    local req, kind, msg = http.read_request(sock, IDLE_TIMEOUT, READ_TIMEOUT)
    if not req then
      if kind == "bad" then bad_request(app, plain_out, msg) end
      break
    end
    stats.requests = stats.requests + 1
    local res = app.handle(req)
    local f = res.faults or {}
    if f["delay-ms"] then cqueues.sleep((tonumber(f["delay-ms"].value) or 0) / 1000) end
    if res.drop then break end
    local out = f.drip and make_out(sock, f.drip.value) or plain_out
    local keep = req.keep_alive
    if res.sse then
      keep = write_sse(app, out, req, res, keep)
    else
      keep = write_plain(app, out, req, res, keep)
    end
    if not keep then break end
  end
  sock:shutdown("w")
end

--- Listen and serve app on cq. Returns host, port.
function server.start(cq, app, host, port)
  local lsock = socket.listen { host = host, port = port, reuseaddr = true, nodelay = true }
  local ok, err = lsock:listen()
  if not ok then return nil, err end
  local _, lhost, lport = lsock:localname()
  cq:wrap(function()
    while true do
      local sock, aerr = lsock:accept({ nodelay = true }) -- SSE events are small writes
      if sock then
        cq:wrap(handle_connection, app, sock)
      elseif aerr then
        cqueues.sleep(0.01) -- e.g. EMFILE: back off, keep serving the others
      end
    end
  end)
  app.listener = lsock
  return lhost, lport
end

return server
