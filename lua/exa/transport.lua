-- exa.transport: building requests, talking to exa.core, retries.
-- One core.multi per client (one connection pool). The API key lives only
-- in a closure here: it is never a field of any table a user can print, and
-- every error is scrubbed of it before it leaves this file.
local type, pairs, ipairs, tostring, setmetatable, error, pcall =
  type, pairs, ipairs, tostring, setmetatable, error, pcall
local string_format, string_lower, string_gsub, string_find =
  string.format, string.lower, string.gsub, string.find
local table_concat, table_sort = table.concat, table.sort
local math_floor, math_min = math.floor, math.min
local os_time, require, package, _VERSION = os.time, require, package, _VERSION

local core = require "exa.core"
local json = require "exa.json"
local errors = require "exa.errors"
local clock = require "exa.clock"

local M = {}
local Transport = {}
Transport.__index = Transport

local JSON_TYPE = "application/json"
local SSE_TYPE = "text/event-stream"

-- Park-Miller PRNG for jitter: exact in doubles, leaves math.random alone.
local seed = (os_time() % 2147483646) + 1
local function jitter()
  seed = (seed * 16807) % 2147483647
  return seed / 2147483647
end

local urlencode = errors.percent_encode

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
    parts[i] = urlencode(k) .. "=" .. urlencode(query_value(q[k]))
  end
  return "?" .. table_concat(parts, "&")
end

local function lua_name()
  local jit = package.loaded.jit or (pcall(require, "jit") and package.loaded.jit)
  if type(jit) == "table" and type(jit.version) == "string" then return jit.version end
  return _VERSION
end

function M.user_agent(version)
  return string_format("exa-lua/%s (%s; libcurl/%s)", version, lua_name(),
    tostring(core.curl_version))
end

-- A URL without userinfo, for error messages.
local function display_url(u)
  return (string_gsub(u, "^(%a[%w+.-]*://)[^/@]*@", "%1"))
end

--- cfg: api_key, auth ("x-api-key"|"bearer"), base_url, betas (array),
--- headers (map), timeout, connect_timeout, stream_idle_timeout (seconds),
--- max_retries, retry_base_delay, retry_max_delay, max_retry_after,
--- retry_concurrency_limit, ca_file, sleep, on_retry, user_agent.
function M.new(cfg)
  local key = cfg.api_key
  local auth_line = cfg.auth == "bearer" and ("Authorization: Bearer " .. key)
    or ("x-api-key: " .. key)
  local self = setmetatable({
    base_url = cfg.base_url,
    display_base = display_url(cfg.base_url), -- for error messages: no userinfo
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
    sleep = cfg.sleep or clock.sleep,
    on_retry = cfg.on_retry,
    user_agent = cfg.user_agent,
    multi = nil, -- created on first use: validation-only paths need no pool
  }, Transport)
  -- the only places the key is reachable
  self.auth = function() return auth_line end
  self.redact = function(e) return errors.redact(e, key) end
  self.redact_string = function(s) return errors.redact_string(s, key) end
  return self
end

function Transport:close()
  if self.multi then
    self.multi:close()
    self.multi = nil
  end
  self.closed = true
end

-- Header list for core: defaults, then client headers, then per-call
-- headers; a later name replaces an earlier one (case-insensitive); a value
-- of false or exa.null removes the header.
function Transport:header_lines(spec)
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
  set("Accept", spec.accept or JSON_TYPE)
  set("User-Agent", self.user_agent)
  if self.beta_header then set("Exa-Beta", self.beta_header) end
  if spec.body then
    set("Content-Type", JSON_TYPE)
    set("Expect", false) -- no 100-continue round trip for large bodies
  end
  if spec.last_event_id then set("Last-Event-ID", spec.last_event_id) end
  for k, v in pairs(self.headers) do set(k, v) end
  if spec.headers then for k, v in pairs(spec.headers) do set(k, v) end end
  local lines = { self.auth() }
  for _, n in ipairs(names) do
    local v = values[n[1]]
    if v then
      lines[#lines + 1] = n[2] .. ": " .. v
    elseif v == false then
      lines[#lines + 1] = n[2] .. ":" -- curl: do not send this header at all
    end
  end
  return lines
end

function Transport:url(spec)
  return self.base_url .. spec.path .. M.query_string(spec.query)
end

local function ms(seconds)
  if seconds == nil then return nil end
  return math_floor(seconds * 1000 + 0.5)
end

function Transport:core_request(spec, sse)
  local timeout = spec.timeout
  if timeout == nil then timeout = self.timeout end
  local req = {
    method = spec.method,
    url = self:url(spec),
    headers = self:header_lines(spec),
    body = spec.body,
    connect_timeout = ms(self.connect_timeout),
    ca_file = self.ca_file,
  }
  if sse then
    req.sse = true
    req.idle_timeout = ms(spec.idle_timeout or self.stream_idle_timeout)
  else
    req.timeout = ms(timeout)
  end
  local m = self.multi
  if not m then
    if self.closed then errors.raise{ kind = "closed", message = "the client was closed" } end
    m = core.multi()
    self.multi = m
  end
  return m:request(req)
end

-- Is err worth another attempt under this policy?
--   "idempotent": GET/DELETE/cancel: no harm in sending it twice
--   "create": a new run; only when the server cannot have created one
--   "none": never
function Transport:should_retry(e, policy)
  if policy == "none" then return false end
  local k = e.kind
  if k == "connect" or k == "dns" then return true end -- no byte reached the API
  if k == "concurrency_limit" then return self.retry_concurrency_limit == true end
  if k == "rate_limit" then return true end -- rejected at the door, nothing created
  if policy == "create" then return false end
  if k == "timeout" or k == "transport" then return true end
  local s = e.status
  if s and (s == 408 or s == 500 or s == 502 or s == 503 or s == 504) then
    return e.code ~= "TIMEOUT"
  end
  return false
end

-- Seconds to wait before attempt n+1, or nil to give up.
function Transport:backoff(e, attempt)
  local ra = e.retry_after
  if ra then
    if ra > self.max_retry_after then return nil end
    return ra
  end
  local d = math_min(self.retry_max_delay, self.retry_base_delay * 2 ^ (attempt - 1))
  return d * (0.5 + 0.5 * jitter())
end

-- Run fn() -> result | nil, errobj until it succeeds or retrying stops;
-- raise the (redacted) error object.
function Transport:with_retries(spec, fn)
  local max = spec.max_retries
  if max == nil then max = self.max_retries end
  local attempt = 0
  while true do
    attempt = attempt + 1
    local r, e = fn()
    if r then return r end
    e.attempts = attempt
    self.redact(e)
    local delay = attempt <= max and self:should_retry(e, spec.retry) and self:backoff(e, attempt)
    if not delay then error(e, 0) end
    if self.on_retry then self.on_retry(e, attempt, delay) end
    self.sleep(delay)
  end
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

local function error_from_res(res, ctx)
  local decoded = json.decode(res.body or "")
  return errors.from_response(res, decoded, ctx)
end

--- A JSON request: returns the decoded body of a 2xx response; raises an
--- error object otherwise (after retries the policy allows).
function Transport:json(spec)
  local ctx = ctx_of(self, spec)
  return self:with_retries(spec, function()
    local t = self:core_request(spec, false)
    local res, err = t:finish()
    t:close()
    if not res then return nil, errors.from_transport(err, ctx) end
    if res.status >= 200 and res.status < 300 then
      return decode_success(res, ctx)
    end
    return nil, error_from_res(res, ctx)
  end)
end

--- Open an SSE transfer; returns the transfer once the response headers say
--- 2xx text/event-stream (retrying the opening as the policy allows).
function Transport:open_sse(spec)
  local ctx = ctx_of(self, spec)
  spec.accept = SSE_TYPE
  return self:with_retries(spec, function()
    local t = self:core_request(spec, true)
    local status, headers = t:headers()
    if not status then
      t:close()
      return nil, errors.from_transport(headers, ctx)
    end
    local ctype = headers["content-type"] or ""
    if status >= 200 and status < 300 and string_find(string_lower(ctype), SSE_TYPE, 1, true) then
      return t
    end
    local res, err = t:finish()
    t:close()
    if not res then return nil, errors.from_transport(err, ctx) end
    if status >= 200 and status < 300 then
      return nil, errors.new{
        kind = "protocol", status = status, method = ctx.method, url = ctx.url,
        request_id = headers["x-request-id"],
        message = string_format("expected a text/event-stream response, got %s: %s",
          ctype ~= "" and ctype or "no content type", errors.snippet(res.body)),
      }
    end
    return nil, error_from_res(res, ctx)
  end)
end

-- Scrub and raise a transport error that happened mid-stream.
function Transport:stream_error(err, spec)
  local e = errors.from_transport(err, ctx_of(self, spec))
  return self.redact(e)
end

return M
