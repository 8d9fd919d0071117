-- exa.wire.transport: building requests, redirects, error objects and retries,
-- once for every backend (curl on exa.core, or nginx cosockets). A backend
-- only moves bytes: start(req) -> handle with headers(), next_event(),
-- finish(), close() (docs/architecture.md §3).
--
-- The API key lives only in closures here: it is never a field of any table
-- a user can print, and every error is scrubbed of it before it leaves.
local type, pairs, ipairs, tostring, setmetatable, error, require, package, _VERSION =
  type, pairs, ipairs, tostring, setmetatable, error, require, package, _VERSION
local pcall = pcall
local string_format, string_lower = string.format, string.lower
local math_ceil, math_floor, table_concat = math.ceil, math.floor, table.concat

local core = require "exa.core"
local json = require "exa.wire.json"
local errors = require "exa.errors"
local url = require "exa.wire.url"
local retry = require "exa.wire.retry"

local M = {}
local Transport = {}
Transport.__index = Transport

local JSON_TYPE = "application/json"
local SSE_TYPE = "text/event-stream"
local MAX_REDIRECTS = 5
local REDIRECT = { [301] = true, [302] = true, [303] = true, [307] = true, [308] = true }

local function lua_name()
  local jit = package.loaded.jit or (pcall(require, "jit") and package.loaded.jit)
  if type(jit) == "table" and type(jit.version) == "string" then return jit.version end
  return _VERSION
end

--- "exa-lua/0.2.0 (Lua 5.4; libcurl/7.88.1)"; on the ngx transport the
--- nginx lua module's version stands where libcurl's does.
function M.user_agent(version, backend_name)
  if backend_name == "ngx" then
    local ngx = package.loaded.ngx
    local v = type(ngx) == "table" and type(ngx.config) == "table" and ngx.config.ngx_lua_version
    if type(v) == "number" then
      v = string_format("%d.%d.%d", math_floor(v / 1000000), math_floor(v / 1000) % 1000, v % 1000)
    end
    return string_format("exa-lua/%s (%s; ngx_lua/%s)", version, lua_name(), tostring(v or "?"))
  end
  return string_format("exa-lua/%s (%s; libcurl/%s)", version, lua_name(),
    tostring(core.curl_version))
end

--- cfg: api_key, auth ("x-api-key"|"bearer"), base_url, betas (array),
--- headers (map), timeout, connect_timeout, stream_idle_timeout (seconds),
--- max_retries, retry_base_delay, retry_max_delay, max_retry_after,
--- retry_concurrency_limit, ca_file, sleep, on_retry, user_agent,
--- backend (from exa.backend.curl or exa.backend.ngx), loop (curl only).
function M.new(cfg)
  local key = cfg.api_key
  local auth_name = cfg.auth == "bearer" and "Authorization" or "x-api-key"
  local auth_value = cfg.auth == "bearer" and ("Bearer " .. key) or key
  local secrets = { key }
  -- a client header that sets the auth header replaces ours (one header is
  -- sent) and is a secret too
  for k, v in pairs(cfg.headers) do
    if string_lower(k) == string_lower(auth_name) and type(v) == "string" then
      secrets[#secrets + 1] = v
    end
  end
  local backend = cfg.backend
  local self = setmetatable({
    base_url = cfg.base_url,
    display_base = url.display(cfg.base_url), -- for error messages: no userinfo
    beta_header = #cfg.betas > 0 and table_concat(cfg.betas, ",") or nil,
    headers = cfg.headers,
    timeout = cfg.timeout,
    connect_timeout = cfg.connect_timeout,
    stream_idle_timeout = cfg.stream_idle_timeout,
    max_retries = cfg.max_retries,
    retry_base_delay = cfg.retry_base_delay,
    retry_max_delay = cfg.retry_max_delay,
    max_retry_after = cfg.max_retry_after,
    retry_concurrency_limit = cfg.retry_concurrency_limit,
    ca_file = cfg.ca_file,
    on_retry = cfg.on_retry,
    user_agent = cfg.user_agent,
    backend = backend,
    loop = backend.loop,
    auth_name = auth_name,
  }, Transport)
  local user_sleep = cfg.sleep
  -- outside a task a user's sleep hook (exa.new{sleep=}) wins; inside a task
  -- the loop's sleep yields it
  self.sleep = function(s)
    local loop = self.loop
    if user_sleep and not (loop and loop:current()) then return user_sleep(s) end
    return backend.sleep(s)
  end
  self.now = backend.now
  -- the only places the key is reachable
  self.auth = function() return auth_value end
  self.redact = function(e, extra)
    for i = 1, #secrets do errors.redact(e, secrets[i]) end
    if extra then errors.redact(e, extra) end
    return e
  end
  self.redact_string = function(s)
    for i = 1, #secrets do s = errors.redact_string(s, secrets[i]) end
    return s
  end
  return self
end

function Transport:close()
  if self.backend.close then self.backend.close() end
  self.closed = true
end

-- The per-call header that replaces the auth header, if any (a secret too).
local function call_secret(self, spec)
  if not spec.headers then return nil end
  local want = string_lower(self.auth_name)
  for k, v in pairs(spec.headers) do
    if string_lower(k) == want and type(v) == "string" then return v end
  end
  return nil
end

-- Header list for the backend: defaults, then client headers, then per-call
-- headers; a later name replaces an earlier one (case-insensitive); a value
-- of false or exa.null removes the header.
function Transport:header_lines(spec, sse)
  local names, values = {}, {}
  local function set(name, value)
    local lname = string_lower(name)
    if values[lname] == nil then names[#names + 1] = { lname, name } end
    if value == false or value == json.null then
      values[lname] = false
    else
      values[lname] = tostring(value)
      for _, n in ipairs(names) do if n[1] == lname then n[2] = name end end
    end
  end
  set(self.auth_name, self.auth())
  set("Accept", sse and SSE_TYPE or JSON_TYPE)
  set("User-Agent", self.user_agent)
  if self.beta_header then set("Exa-Beta", self.beta_header) end
  if sse then set("Cache-Control", "no-cache") end
  if spec.body then
    set("Content-Type", JSON_TYPE)
    set("Expect", false) -- no 100-continue round trip for large bodies
  end
  local last = spec.last_event_id
  if last ~= nil and last ~= "" then set("Last-Event-ID", last) end
  for k, v in pairs(self.headers) do set(k, v) end
  if spec.headers then for k, v in pairs(spec.headers) do set(k, v) end end
  local lines = {}
  for _, n in ipairs(names) do
    local v = values[n[1]]
    if v then
      lines[#lines + 1] = n[2] .. ": " .. v
    elseif v == false then
      lines[#lines + 1] = n[2] .. ":" -- do not send this header at all
    end
  end
  return lines
end

function Transport:url(spec)
  return self.base_url .. spec.path .. url.query_string(spec.query)
end

-- Seconds to whole milliseconds, rounded up: a tiny positive timeout must
-- never become 0, which libcurl reads as "no timeout".
local function ms(seconds)
  if seconds == nil then return nil end
  local v = math_ceil(seconds * 1000)
  if v < 1 then v = 1 end
  return v
end

local function backend_request(self, spec, sse, u, method, body)
  local timeout = spec.timeout
  if timeout == nil then timeout = self.timeout end
  local req = {
    method = method,
    url = u,
    headers = self:header_lines(spec, sse),
    body = body,
    connect_timeout = ms(self.connect_timeout),
    ca_file = self.ca_file,
    -- a create's body goes out once: a backend never sends it again by
    -- itself (curl: a body it cannot rewind; ngx: no re-send on a pooled
    -- connection found dead), the retry policy decides
    once = spec.retry == "create" or nil,
  }
  if sse then
    req.sse = true
    req.json = true -- a backend that can may decode each event's data (h.json says it did)
    req.idle_timeout = ms(spec.idle_timeout or self.stream_idle_timeout)
  else
    req.timeout = ms(timeout)
  end
  return req
end

local function ctx_of(self, spec)
  return { method = spec.method, url = self.display_base .. spec.path }
end

local function decode_success(res, ctx)
  local v, derr = json.decode(res.body or "")
  if v == nil then
    return nil, errors.new{
      kind = "protocol", status = res.status, method = ctx.method, url = ctx.url,
      request_id = res.headers and res.headers["x-request-id"],
      message = string_format("HTTP %d response is not valid JSON (%s): %s", res.status,
        tostring(derr), errors.snippet(res.body)),
    }
  end
  return v
end

-- One attempt, following same-origin redirects. JSON: the decoded body.
-- SSE: the open handle once the head says 2xx text/event-stream.
function Transport:attempt(spec, sse)
  local ctx = ctx_of(self, spec)
  local u, method, body = self:url(spec), spec.method, spec.body
  local backend = self.backend
  for hop = 0, MAX_REDIRECTS do
    local h = backend.start(backend_request(self, spec, sse, u, method, body))
    -- framed: the backend frames the body as an event stream (its framer's
    -- own decision, so the two never disagree)
    local status, headers, framed = h:headers()
    if not status then
      h:close()
      return nil, errors.from_transport(headers, ctx)
    end
    if REDIRECT[status] and headers.location then
      h:close()
      local to = url.resolve(u, headers.location)
      local e
      if url.origin(to) ~= url.origin(u) then
        e = string_format("refusing to follow HTTP %d to another origin (%s): the API key is only "
          .. "ever sent to %s", status, url.display(to), url.origin(u) or self.display_base)
      elseif hop == MAX_REDIRECTS then
        e = string_format("more than %d redirects", MAX_REDIRECTS)
      end
      if e then
        return nil, errors.new{ kind = "redirect", status = status, method = ctx.method,
          url = ctx.url, location = url.display(to), message = e }
      end
      if status == 303 or ((status == 301 or status == 302) and method == "POST") then
        method, body = "GET", nil
      end
      u = to
    else
      if framed then return h end
      local ok2xx = status >= 200 and status < 300
      local res, err = h:finish()
      h:close()
      if not res then return nil, errors.from_transport(err, ctx) end
      if ok2xx and not sse then return decode_success(res, ctx) end
      if ok2xx then
        local ctype = headers["content-type"] or ""
        return nil, errors.new{
          kind = "protocol", status = status, method = ctx.method, url = ctx.url,
          request_id = headers["x-request-id"],
          message = string_format("expected a text/event-stream response, got %s: %s",
            ctype ~= "" and ctype or "no content type", errors.snippet(res.body)),
        }
      end
      return nil, errors.from_response(res, json.decode(res.body or ""), ctx)
    end
  end
end

--- Run one call to its end under the retry policy (retry.lua): returns the
--- result, or nil and the run found by spec.resolve() for a create whose
--- first outcome was unknown. Raises the (redacted) error object.
--- budget: a stream passes its own, so its reconnects share it.
function Transport:call(spec, sse, budget)
  if self.closed then errors.raise{ kind = "closed", message = "the client was closed" } end
  local loop = self.loop
  if loop and not loop:current() then loop:check_blocking("a request") end
  budget = budget or retry.budget(spec.max_retries or self.max_retries)
  local secret = call_secret(self, spec)
  while true do
    budget.attempts = budget.attempts + 1
    local r, e = self:attempt(spec, sse)
    if r then return r end
    self.redact(e, secret)
    local action, delay = retry.decide(e, spec.retry, budget, self)
    if action == "resolve" and not spec.resolve then
      e.message = e.message .. " (a create whose outcome is unknown is not sent again without its marker)"
      action = nil
    end
    if not action then error(e, 0) end
    if self.on_retry then self.on_retry(e, budget.attempts, delay) end
    self.sleep(delay)
    if action == "resolve" then
      local found, lerr = spec.resolve(e)
      if found then return nil, found end
      if found == nil then -- the lookup failed: nobody can say whether the run exists
        lerr = lerr or {}
        error(self.redact(errors.new{
          kind = "ambiguous", cause = e, status = e.status, attempts = budget.attempts,
          client_request_id = spec.marker,
          message = string_format("the create may or may not have made a run (%s), and looking for "
            .. "its marker failed (%s): look for metadata.%s = %q before creating again",
            tostring(e.message), tostring(lerr.message), spec.marker_key or "?", tostring(spec.marker)),
        }, secret), 0)
      end
      -- found == false: no run carries the marker, so sending again is safe
    end
  end
end

--- A JSON request: the decoded body of a 2xx response (or the run its
--- marker found); raises an error object otherwise.
function Transport:json(spec)
  local r, found = self:call(spec, false)
  return r or found
end

--- Open an SSE transfer: the backend handle once the head says 2xx
--- text/event-stream; or nil and the run a create's marker found.
function Transport:open_sse(spec, budget)
  return self:call(spec, true, budget)
end

-- Scrub error object e of the key and of spec's per-call auth header; returns e.
function Transport:scrub(e, spec)
  return self.redact(e, call_secret(self, spec))
end

-- Scrub and return a transport error that happened mid-stream.
function Transport:stream_error(err, spec)
  return self:scrub(errors.from_transport(err, ctx_of(self, spec)), spec)
end

return M
