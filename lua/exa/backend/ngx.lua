-- exa.backend.ngx: the "ngx" backend. HTTP/1.1 on nginx cosockets
-- (ngx.socket.tcp), so a request inside OpenResty yields to nginx on every
-- wait instead of blocking the worker the way libcurl does. It implements
-- the backend interface of docs/architecture.md section 3:
--
--   local backend = require("exa.backend.ngx").new{ keepalive_timeout = 60000, pool_size = 32 }
--   local h = backend.start(req)      -- req: method, url, headers, body, sse, timeout,
--                                     -- connect_timeout, idle_timeout, fresh_connect, once,
--                                     -- max_body, max_line, max_event (times in ms)
--   h:headers()    -> status, headers, sse (framed as an event stream) | nil, err
--   h:next_event() -> ev | nil, nil, partial (clean end) | nil, err
--   h:finish()     -> {status=, headers=, body=} | nil, err
--   h:close()
--   backend.sleep(s) (ngx.sleep), backend.now() (monotonic seconds)
--
-- backend.start / sleep / now work called with a dot or a colon.
-- err = {kind=, code=, message=} with exa.core's kinds (timeout connect dns
-- tls transport too_large sse closed); code is a short string naming the
-- condition (nginx gives no numbers). This file holds no HTTP parsing: it
-- does sockets, TLS, the pool, phases and deadlines, and hands every byte it
-- reads to exa.core's HTTP/1 reader (core.response, src/h1.c on resp.c and
-- the SSE framer): status line, head rules and bounds, framing, chunked
-- decoding, event framing and the keep-alive decision are the C core's, the
-- same code the curl backend runs its head and body through.
--
-- Keep-alive: a connection goes back to nginx's pool (setkeepalive, one pool
-- per host:port[:tls]) only after its response body was read to the end;
-- otherwise it is closed. fresh_connect never takes a pooled connection.
-- A pooled connection that turns out dead before any byte of the answer
-- (the server closed it while it idled) is replaced by a new one and the
-- request sent again, as libcurl does, except for a `once` request (a
-- create): it may take a pooled connection, but its body goes out at most
-- once. Its send may have reached the server (a server that read the body
-- and then closed looks the same as one that closed while idle), so the
-- attempt fails instead (kind transport, code "once_not_resent") and the
-- retry policy decides through the create marker, as for curl's code 65.
--
-- Where nginx disables cosockets (init, init_worker, set, header/body
-- filter, log, balancer phases) start() and sleep() raise an error object
-- naming the phase and pointing at ngx.timer.at.
local type, tostring, tonumber, setmetatable, error, ipairs =
  type, tostring, tonumber, setmetatable, error, ipairs
local string_find, string_sub, string_lower, string_match, string_format, string_gsub, string_char =
  string.find, string.sub, string.lower, string.match, string.format, string.gsub, string.char
local table_concat = table.concat
local math_floor = math.floor
local package_loaded = package.loaded

local core = require "exa.core"
local errors = require "exa.errors"

local M = {}

local DEFAULT_MAX_BODY = 64 * 1024 * 1024
local DEFAULT_MAX_SSE = 16 * 1024 * 1024  -- max_line and max_event (docs/architecture.md)
local DEFAULT_CONNECT_TIMEOUT = 10000     -- ms, as exa.core
local NO_TIMEOUT = 2147483647             -- ms: the largest timeout a cosocket takes (~24 days)
local READ_CHUNK = 65536
local STALE_RETRIES = 4                   -- dead pooled connections replaced per request

-- Phases in which ngx.socket.tcp and ngx.sleep work (lua-nginx-module docs).
local COSOCKET_PHASES = {
  rewrite = true, server_rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true, preread = true,
}
local DIRECTIVE = {
  init = "init_by_lua*", init_worker = "init_worker_by_lua*", set = "set_by_lua*",
  header_filter = "header_filter_by_lua*", body_filter = "body_filter_by_lua*",
  log = "log_by_lua*", balancer = "balancer_by_lua*", exit_worker = "exit_worker_by_lua*",
  ssl_session_store = "ssl_session_store_by_lua*",
}

local function ngx_api()
  local ngx = package_loaded.ngx
  if type(ngx) == "table" and type(ngx.socket) == "table" and type(ngx.get_phase) == "function" then
    return ngx
  end
  return nil
end

--- nil when cosockets work here; else an error object saying why not.
function M.unusable()
  local ngx = ngx_api()
  if not ngx then
    return errors.new{ kind = "transport", code = "no_ngx",
      message = "the ngx transport needs OpenResty or nginx with the lua module (ngx.socket.tcp is missing)" }
  end
  local phase = ngx.get_phase()
  if COSOCKET_PHASES[phase] then return nil end
  local hint
  if phase == "init" then
    hint = "init_by_lua runs in the nginx master before any worker exists: start the work from "
      .. "init_worker_by_lua* with ngx.timer.at(0, function() ... end)"
  else
    hint = "defer it with ngx.timer.at(0, function() ... end) (a timer may use cosockets), or call it "
      .. "from rewrite_by_lua*, access_by_lua* or content_by_lua*"
  end
  return errors.new{ kind = "transport", code = "ngx_phase", phase = phase,
    message = string_format("nginx cosockets are disabled in the %s phase (%s): %s", tostring(phase),
      DIRECTIVE[phase] or "this phase", hint) }
end

--- true when a request may go through this backend right here (OpenResty,
--- a phase with cosockets).
function M.usable()
  return M.unusable() == nil
end

--- true inside nginx with the lua module, whatever the phase: where the
--- automatic choice should be this backend (a client made at load time,
--- in init_by_lua*, still makes its requests later, in request phases;
--- one made in a phase without cosockets then gets the phase error, which
--- says what to do, instead of libcurl blocking the worker).
function M.inside_nginx()
  return ngx_api() ~= nil
end

local function check_usable()
  local e = M.unusable()
  if e then error(e, 0) end
  return package_loaded.ngx
end

local function fail_value(kind, code, message)
  return { kind = kind, code = code, message = message }
end

---------------------------------------------------------------------------
-- Request building

local function is_token(s)
  return type(s) == "string" and s ~= "" and not string_find(s, "[^%w!#$%%&'*+%-.^_`|~]")
end

local function opt_ms(req, name, default)
  local v = req[name]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v < 0 then
    error(string_format("request: spec.%s must be a number of ms >= 0", name), 3)
  end
  if v == 0 then return default end
  return v
end

local function opt_size(req, name, default)
  local v = req[name]
  if v == nil then return default end
  if type(v) ~= "number" or v < 1 or v ~= math_floor(v) then
    error(string_format("request: spec.%s must be a positive integer", name), 3)
  end
  return v
end

-- scheme, host (brackets kept for IPv6), port, target, userinfo | nil, message
local function parse_url(url)
  local scheme, rest = string_match(url, "^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil, "not an absolute http(s) URL" end
  scheme = string_lower(scheme)
  if scheme ~= "http" and scheme ~= "https" then
    return nil, "unsupported protocol " .. scheme .. " (only http and https)"
  end
  local authority, target = string_match(rest, "^([^/?#]*)(.*)$")
  target = string_gsub(target, "#.*$", "")
  if target == "" then target = "/" elseif string_sub(target, 1, 1) == "?" then target = "/" .. target end
  if string_find(target, "[%c ]") then return nil, "the URL has spaces or control characters" end
  local userinfo
  local at = string_match(authority, "^.*()@")
  if at then
    userinfo = string_sub(authority, 1, at - 1)
    authority = string_sub(authority, at + 1)
  end
  local host, port
  if string_sub(authority, 1, 1) == "[" then
    host, port = string_match(authority, "^(%[[%x:.]+%])(.*)$")
  else
    host, port = string_match(authority, "^([^:]*)(.*)$")
  end
  if not host or host == "" then return nil, "the URL has no host" end
  if port == "" then
    port = scheme == "https" and 443 or 80
  else
    port = tonumber(string_match(port, "^:(%d+)$"))
    if not port or port < 1 or port > 65535 then return nil, "the URL has a bad port" end
  end
  return scheme, string_lower(host), port, target, userinfo
end

local function unescape(s)
  return (string_gsub(s, "%%(%x%x)", function(h) return string_char(tonumber(h, 16)) end))
end

-- The request head and body as one string. headers: "Name: value" sends it,
-- "Name:" suppresses a header we would add (Host, Content-Length), "Name;"
-- sends it with an empty value (curl's conventions, which transport.lua uses).
local function build_request(ngx, method, host_header, target, headers, body, userinfo)
  local out = { method, " ", target, " HTTP/1.1\r\n" }
  local given, removed = {}, {}
  local lines = {}
  if headers ~= nil then
    if type(headers) ~= "table" then error("request: spec.headers must be an array", 3) end
    for i, h in ipairs(headers) do
      if type(h) ~= "string" or string_find(h, "[\r\n%z]") then
        error(string_format("request: spec.headers[%d] must be one \"Name: value\" line", i), 3)
      end
      local name, sep, value = string_match(h, "^([^:;]+)([:;])[ \t]*(.-)[ \t]*$")
      if not name or not is_token(name) then
        error(string_format("request: spec.headers[%d] must be one \"Name: value\" line", i), 3)
      end
      local lname = string_lower(name)
      if sep == ";" then
        if value ~= "" then
          error(string_format("request: spec.headers[%d] must be one \"Name: value\" line", i), 3)
        end
        given[lname] = true
        lines[#lines + 1] = name .. ":\r\n"
      elseif value == "" then
        removed[lname] = true
      elseif lname ~= "content-length" and lname ~= "transfer-encoding" then
        given[lname] = true
        lines[#lines + 1] = name .. ": " .. value .. "\r\n"
      end
    end
  end
  if not given.host and not removed.host then out[#out + 1] = "Host: " .. host_header .. "\r\n" end
  if userinfo and not given.authorization and not removed.authorization then
    local user, pass = string_match(userinfo, "^([^:]*):?(.*)$")
    out[#out + 1] = "Authorization: Basic " .. ngx.encode_base64(unescape(user) .. ":" .. unescape(pass)) .. "\r\n"
  end
  for i = 1, #lines do out[#out + 1] = lines[i] end
  if body ~= nil or method == "POST" or method == "PUT" or method == "PATCH" then
    out[#out + 1] = "Content-Length: " .. (body and #body or 0) .. "\r\n"
  end
  out[#out + 1] = "\r\n"
  if body then out[#out + 1] = body end
  return table_concat(out)
end

---------------------------------------------------------------------------
-- The handle

local H = {}
H.__index = H

local fresh_serial = 0

-- ms left before the whole-request deadline (nil: no deadline; <= 0: past)
function H:left()
  if not self.deadline then return nil end
  return math_floor((self.deadline - core.monotime()) * 1000)
end

function H:fail(e)
  if not self.err then self.err = e end
  if self.sock then
    self.sock:close()
    self.sock = nil
  end
  return self.err
end

function H:timeout_error(what)
  if self.deadline then
    return fail_value("timeout", "timeout", string_format("%s %s timed out: the request took longer than %d ms (timeout)",
      what, self.where, self.timeout_ms))
  end
  if self.sse then
    return fail_value("timeout", "idle_timeout", string_format("no data received for %d ms (idle_timeout) from %s",
      self.idle_ms, self.where))
  end
  return fail_value("timeout", "timeout", string_format("%s %s timed out", what, self.where))
end

-- Timeouts for the next send or read: the deadline's remainder, or for an
-- event stream the idle timeout.
function H:io_timeout()
  local left = self:left()
  if left then return left end
  if self.sse and self.idle_ms then return self.idle_ms end
  return NO_TIMEOUT
end

local function classify_connect(self, err, ms)
  if err == "timeout" then
    return fail_value("timeout", "connect_timeout", string_format("connecting to %s timed out after %d ms",
      self.where, ms))
  end
  if string_find(err, "resolve", 1, true) then
    local hint = ""
    if string_find(err, "no resolver defined", 1, true) then
      hint = " (nginx resolves names only through its resolver directive, e.g. `resolver 127.0.0.53;`)"
    end
    return fail_value("dns", "resolve", string_format("could not resolve host %s: %s%s", self.host, err, hint))
  end
  return fail_value("connect", "connect", string_format("could not connect to %s: %s", self.where, err))
end

-- The TLS handshake, verification on. true | nil, message | nil, "timeout"
-- | nil, false (it failed at once, reason unknown: see below)
local function handshake(sock, sni)
  local ok, err = sock:sslhandshake(false, sni, true)
  -- lua-resty-core 0.1.25 (Debian 12) answers true for a handshake that
  -- completed at once and then failed verification: the socket is closed
  -- by then, and the reason is lost (with a session argument it raises an
  -- assertion instead). A closed socket after "success" is such a failure.
  if ok and not sock:getreusedtimes() then return nil, false end
  return ok, err
end

-- Open (or take from the pool) a connection and send the request.
-- Returns true | nil, err.
function H:open(fresh)
  local sock, ok, err
  local tries = 0
  repeat
    tries = tries + 1
    local left = self:left()
    if left and left <= 0 then return nil, self:timeout_error("connecting to") end
    local cms = self.connect_ms
    if left and left < cms then cms = left end
    local io = self:io_timeout()
    if io < 1 then io = 1 end
    self.reused = false
    sock = self.ngx.socket.tcp()
    sock:settimeouts(cms, io, io)
    local pool = self.pool
    if fresh then
      fresh_serial = fresh_serial + 1
      pool = pool .. "#fresh" .. fresh_serial -- a name no idle connection is kept under
    end
    ok, err = sock:connect(self.connect_host, self.port, { pool = pool })
    if not ok then
      if left and err == "timeout" and cms < self.connect_ms then return nil, self:timeout_error("connecting to") end
      return nil, classify_connect(self, err, cms)
    end
    self.sock = sock
    self.fresh = fresh
    self.reused = sock:getreusedtimes() > 0
    if self.tls and not self.reused then
      ok, err = handshake(sock, self.sni)
      if not ok then
        if err == "timeout" then return nil, self:timeout_error("the TLS handshake with") end
        sock:close()
        self.sock = nil
        -- a failure that lost its reason: once more on a new connection, to learn it
        if err ~= false or tries >= 2 then
          return nil, fail_value("tls", "handshake", string_format("TLS handshake with %s failed: %s (inside nginx "
            .. "the trusted CAs come from the lua_ssl_trusted_certificate directive, with lua_ssl_verify_depth)",
            self.where, err or "the certificate did not verify"))
        end
        fresh = true
      end
    end
  until ok
  ok, err = sock:send(self.request)
  if not ok then
    if err == "timeout" then return nil, self:timeout_error("sending the request to") end
    return nil, fail_value("transport", "send", string_format("sending the request to %s failed: %s", self.where, err))
  end
  if self.resp then self.resp:close() end
  self.resp = core.response{ method = self.method, sse = self.sse, max_body = self.max_body,
    max_line = self.max_line, max_event = self.max_event }
  self.received = 0
  return true
end

-- Read the next bytes off the connection into the response reader (at most
-- what a length body still needs, so a pooled connection is never read
-- past its response). true | nil, err
function H:pump(during)
  local ms = self:io_timeout()
  if ms <= 0 then return nil, self:timeout_error("reading " .. during .. " from") end
  local sock = self.sock
  sock:settimeouts(self.connect_ms, ms, ms)
  local n = self.resp:want()
  if n < 1 or n > READ_CHUNK then n = READ_CHUNK end
  local data, err = sock:receiveany(n)
  if not data then
    if err == "closed" then
      local ok, e = self.resp:eof()
      if not ok then
        e.message = string_format("%s: %s", self.where, e.message)
        return nil, e
      end
      return true
    end
    return nil, self:read_error(err, during)
  end
  self.received = self.received + #data
  local ok, e = self.resp:feed(data)
  if not ok then return nil, e end
  return true
end

-- A socket error while reading, as an error value.
function H:read_error(err, during)
  if err == "timeout" then return self:timeout_error("reading " .. during .. " from") end
  return fail_value("transport", "recv", string_format("reading %s from %s failed: %s", during, self.where, err))
end

-- Read until the final head is complete. true | nil, err
function H:read_head()
  local resp = self.resp
  while true do
    local status, headers, sse = resp:headers()
    if status then
      self.status, self.hdrs, self.is_sse = status, headers, sse
      return true
    end
    if headers then return nil, headers end -- nil, err
    local ok, err = self:pump("the response head")
    if not ok then return nil, err end
  end
end

local function closed_error()
  return fail_value("closed", "closed", "the request was closed")
end

-- A `once` request whose pooled connection failed before any byte of the
-- answer: the request (some or all of it) may have reached the server, and
-- it is not sent again here. kind transport: for a create the retry policy
-- looks for its marker (retry.lua), as after curl's rewind refusal (65).
function H:once_error(err)
  return fail_value("transport", "once_not_resent", string_format("the reused connection to %s failed after "
    .. "the request was sent (%s); a once request (a create) is not sent again by the transport",
    self.where, err.message))
end

-- The head, with connection setup; a dead pooled connection is replaced and
-- the request sent again (after STALE_RETRIES of them, on a fresh one), except
-- for a once request. true | nil, err
function H:head()
  if self.closed then return nil, closed_error() end
  if self.status then return true end
  if self.err then return nil, self.err end
  local fresh = self.fresh_connect
  local tries = 0
  while true do
    local ok, err = self:open(fresh)
    if ok then ok, err = self:read_head() end
    if ok then break end
    local stale = self.reused and self.received == 0 and not self.fresh_connect
      and (err.code == "empty_reply" or err.code == "recv" or err.code == "send")
    if self.sock then
      self.sock:close()
      self.sock = nil
    end
    if stale and self.once then return nil, self:fail(self:once_error(err)) end
    if not stale then return nil, self:fail(err) end
    tries = tries + 1
    if tries >= STALE_RETRIES then fresh = true end
  end
  return true
end

function H:headers()
  local ok, err = self:head()
  if not ok then return nil, err end
  return self.status, self.hdrs, self.is_sse
end

-- The body ended: hand the connection to nginx's pool when it may be reused
-- (the reader says: complete, nothing read past it, and the head allows it).
function H:release()
  local sock = self.sock
  if not sock then return end
  self.sock = nil
  if not self.fresh and self.resp:keepalive() then
    sock:setkeepalive(self.keepalive_ms, self.pool_size)
  else
    sock:close()
  end
end

local function misuse(message)
  return fail_value("sse", "misuse", message)
end

function H:next_event()
  if not self.sse then return nil, misuse("next_event: the request was not made with sse = true") end
  local ok, err = self:head()
  if not ok then return nil, err end
  if not self.is_sse then
    return nil, misuse(string_format("next_event: the response is not an event stream (status %d, content-type %s); "
      .. "read it with finish()", self.status, errors.snippet(self.hdrs["content-type"] or "none", 80)))
  end
  local resp = self.resp
  while true do
    local ev = resp:next_event()
    if ev then return ev end
    if self.err then return nil, self.err end -- after the events framed before it
    if self.ended then return nil, nil, self.partial end
    if resp:done() then
      self.ended, self.partial = true, resp:partial()
      self:release()
    else
      local pumped, perr = self:pump("the event stream")
      if not pumped then self:fail(perr) end
    end
  end
end

function H:finish()
  if self.closed then return nil, closed_error() end
  if self.result then return self.result end
  local ok, err = self:head()
  if not ok then return nil, err end
  if self.is_sse then
    if self.err then return nil, self.err end
    return nil, misuse("finish: the response is an event stream; read it with next_event()")
  end
  if self.err then return nil, self.err end
  local resp = self.resp
  while not resp:done() do
    local pumped, perr = self:pump("the body")
    if not pumped then return nil, self:fail(perr) end
  end
  self:release()
  self.result = { status = self.status, headers = self.hdrs, body = resp:body() }
  return self.result
end

function H:close()
  if self.closed then return end
  self.closed = true
  if self.sock then
    self.sock:close()
    self.sock = nil
  end
  if self.resp then
    self.resp:close()
    self.resp = nil
  end
end

H.__close = H.close

function H:__tostring()
  return string_format("exa.backend.ngx request (%s %s%s)", self.method, self.where, self.closed and ", closed" or "")
end

---------------------------------------------------------------------------
-- The backend

--- cfg: keepalive_timeout (ms an idle pooled connection is kept, default
--- 60000), pool_size (idle connections kept per host:port[:tls], default 32).
function M.new(cfg)
  cfg = cfg or {}
  local keepalive_ms = opt_ms(cfg, "keepalive_timeout", 60000)
  local pool_size = opt_size(cfg, "pool_size", 32)
  local backend = { name = "ngx" }

  local function start(a, b)
    local req = b
    if a ~= backend then req = a end
    if type(req) ~= "table" then error("request: spec must be a table", 2) end
    local ngx = check_usable()
    local method = req.method
    if not is_token(method) then
      error(string_format("request: spec.method '%s' is not an HTTP method", tostring(method)), 2)
    end
    if type(req.url) ~= "string" then error("request: spec.url must be a string", 2) end
    if req.body ~= nil and type(req.body) ~= "string" then error("request: spec.body must be a string", 2) end
    if req.sse ~= nil and type(req.sse) ~= "boolean" then error("request: spec.sse must be a boolean", 2) end
    if req.once ~= nil and type(req.once) ~= "boolean" then error("request: spec.once must be a boolean", 2) end
    local timeout_ms = opt_ms(req, "timeout", nil)
    local h = setmetatable({
      ngx = ngx,
      method = method,
      sse = req.sse == true,
      fresh_connect = req.fresh_connect == true,
      once = req.once == true,
      timeout_ms = timeout_ms,
      deadline = timeout_ms and (core.monotime() + timeout_ms / 1000) or nil,
      connect_ms = opt_ms(req, "connect_timeout", DEFAULT_CONNECT_TIMEOUT),
      idle_ms = opt_ms(req, "idle_timeout", nil),
      max_body = opt_size(req, "max_body", DEFAULT_MAX_BODY),
      max_line = opt_size(req, "max_line", DEFAULT_MAX_SSE),
      max_event = opt_size(req, "max_event", DEFAULT_MAX_SSE),
      keepalive_ms = keepalive_ms,
      pool_size = pool_size,
      where = "?",
    }, H)
    local scheme, host, port, target, userinfo = parse_url(req.url)
    if not scheme then
      h.err = fail_value("transport", "url", "bad URL: " .. host)
      return h
    end
    h.tls = scheme == "https"
    h.host, h.port = host, port
    -- RFC 6761: localhost is the loopback; nginx's resolver only asks DNS
    local bare = string_match(host, "^%[(.*)%]$") or host
    h.connect_host = (bare == "localhost" or string_find(bare, "%.localhost$")) and "127.0.0.1" or host
    h.sni = bare
    local default_port = (h.tls and port == 443) or (not h.tls and port == 80)
    local authority = default_port and host or (host .. ":" .. port)
    h.where = host .. ":" .. port
    h.pool = h.where .. (h.tls and ":tls" or "")
    h.request = build_request(ngx, method, authority, target, req.headers, req.body, userinfo)
    return h
  end

  local function sleep(a, b)
    local s = b
    if a ~= backend then s = a end
    local ngx = check_usable()
    if type(s) == "number" and s > 0 then ngx.sleep(s) end
  end

  local function now()
    return core.monotime()
  end

  backend.start, backend.sleep, backend.now = start, sleep, now
  return backend
end

return M
