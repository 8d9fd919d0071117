-- One hostile response of fuzz/hostile.lua through one backend, written once
-- for both: spec/hostile_corpus_spec.lua calls it in-process with exa.core's
-- curl multi, and inside nginx (location /hostile, M.handle) with the ngx
-- backend (lua/exa/backend/ngx.lua). Both hand out the same handle interface
-- (docs/architecture.md section 3): headers / next_event / finish / close.
--
--   local outcome = replay.outcome(start, case, url)
--     start(req) -> handle; case: an entry of fuzz/hostile.lua; url: the peer's /raw of it
--   outcome = {status=, body=, headers=, events=, partial=}      a response
--           | {err = {kind=, code=, message=}, events=}          an error (kind nil: not an exa error)
--   replay.check(case, outcome, backend) -> true | false, why     against expect (or one of also)
local M = {}

local function plain_error(e)
  if type(e) ~= "table" then return { message = "not an error object: " .. tostring(e) } end
  local kind = e.kind
  return { kind = type(kind) == "string" and kind or nil, code = e.code, message = tostring(e.message) }
end

local function short_headers(h)
  local out = {}
  for k, v in pairs(h or {}) do
    if type(k) == "string" then out[k] = type(v) == "string" and v:sub(1, 200) or tostring(v) end
  end
  return out
end

function M.outcome(start, c, url)
  local o = {}
  local t
  local ok, perr = pcall(function()
    t = start { method = "GET", url = url, sse = c.sse, max_line = c.max_line, max_event = c.max_event,
      timeout = 10000, idle_timeout = 5000, fresh_connect = true }
    if c.sse then
      -- the head first, as a caller would (and once: a second headers() is
      -- spec/backend_scenarios' business, not this corpus')
      local status, headers = t:headers()
      if status == nil then
        o.err = plain_error(headers)
        return
      end
      local events = 0
      local ev, e, p
      repeat
        ev, e, p = t:next_event()
        if ev then events = events + 1 end
      until not ev
      o.events = events
      if e and e.kind == "sse" and tostring(e.message):match("not an event stream") then
        local r, fe = t:finish()
        if r then
          o.status, o.headers, o.body, o.events = r.status, short_headers(r.headers), r.body, nil
        else
          o.err = plain_error(fe)
        end
      elseif e then
        o.err = plain_error(e)
      else
        o.status, o.headers, o.partial = status, short_headers(headers), p and true or false
      end
    else
      local r, e = t:finish()
      if r then
        o.status, o.headers, o.body = r.status, short_headers(r.headers), r.body
      else
        o.err = plain_error(e)
      end
    end
  end)
  if t then pcall(t.close, t) end
  if not ok then
    -- a raised exa error object keeps its kind; a plain Lua error has none
    o.err = plain_error(perr)
    o.raised = true
  end
  return o
end

--- One line for the log: "200 body=2B events=2" or "transport(18): message".
function M.describe(o)
  if not o then return "not run" end
  if o.err then
    return ("%s%s%s: %s"):format(o.raised and "raised " or "", o.err.kind or "NO KIND",
      o.err.code and ("(" .. tostring(o.err.code) .. ")") or "", tostring(o.err.message):sub(1, 90)) ..
      (o.events and (" after " .. o.events .. " events") or "")
  end
  return ("%s body=%dB%s%s"):format(tostring(o.status), #(o.body or ""), o.events and (" events=" .. o.events) or "",
    o.partial ~= nil and (" partial=" .. tostring(o.partial)) or "")
end

local function matches(x, o, backend)
  if x.kind then
    if not o.err then return false, "expected " .. x.kind .. ", got status " .. tostring(o.status) end
    if o.err.kind ~= x.kind then return false, "expected " .. x.kind .. ", got " .. M.describe(o) end
    if backend == "curl" then -- the numbers and words of the curl path
      if x.code and x.code ~= o.err.code then return false, "expected code " .. x.code .. ", got " .. M.describe(o) end
      if x.message and not tostring(o.err.message):match(x.message) then
        return false, "expected message " .. x.message .. ", got " .. M.describe(o)
      end
    end
  else
    if o.err then return false, "expected status " .. tostring(x.status) .. ", got " .. M.describe(o) end
    if x.status ~= o.status then return false, "expected status " .. tostring(x.status) .. ", got " .. M.describe(o) end
    if x.body and x.body ~= o.body then
      return false, ("expected body %q, got %q"):format(x.body:sub(1, 40), tostring(o.body):sub(1, 40))
    end
    for k, v in pairs(x.header or {}) do
      if (o.headers or {})[k] ~= v then return false, ("expected header %s %q, got %q"):format(k, v,
        tostring((o.headers or {})[k])) end
    end
    if x.partial ~= nil and x.partial ~= o.partial then
      return false, "expected partial=" .. tostring(x.partial) .. ", got " .. M.describe(o)
    end
  end
  if x.events and x.events ~= o.events then
    return false, "expected " .. x.events .. " events, got " .. M.describe(o)
  end
  return true
end

function M.check(c, o, backend)
  local ok, why = matches(c.expect, o, backend)
  if ok then return true end
  for _, alt in ipairs(c.also or {}) do
    if matches(alt, o, backend) then return true end
  end
  return false, why
end

-- Inside nginx: POST {name=, url=} -> JSON outcome of that case through the ngx backend.
local cases
function M.handle()
  local ngx = ngx
  local json = require "exa.wire.json"
  if not cases then
    local root = require("helpers.ngx_runner").root
    cases = {}
    for _, c in ipairs(dofile(root .. "/fuzz/hostile.lua")) do cases[c.name] = c end
  end
  ngx.req.read_body()
  local req = json.decode(ngx.req.get_body_data() or "")
  local c = cases[req.name]
  local out
  if not c then
    out = { err = { message = "no case " .. tostring(req.name) } }
  else
    local backend = require("exa.backend.ngx").new()
    out = M.outcome(backend.start, c, req.url)
  end
  ngx.header["Content-Type"] = "application/json"
  ngx.print(json.encode(out))
end

return M
