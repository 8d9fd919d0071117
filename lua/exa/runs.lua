-- exa.runs: client.runs -- one method per Agent endpoint, plus iterators
-- (pages fetched lazily), SSE streams and wait(). Every method validates its
-- arguments before any byte is sent and raises error objects on failure.
local type, pairs, setmetatable, error, tostring, pcall =
  type, pairs, setmetatable, error, tostring, pcall
local ipairs, io_open = ipairs, io.open
local string_format, string_byte = string.format, string.byte
local table_concat, math_floor = table.concat, math.floor

local validate = require "exa.validate"
local body = require "exa.wire.body"
local builder = require "exa.builder"
local errors = require "exa.errors"
local stream = require "exa.wire.stream"
local clock = require "exa.loop.clock"
local json = require "exa.wire.json"
local api = require "exa.api"
local retry = require "exa.wire.retry"
local batch = require "exa.batch"
local ypcall = require("exa.loop.pcall").pcall

local M = {}
local Runs = {}
Runs.__index = Runs

local TERMINAL_STATUS = api.TERMINAL_STATUS
M.TERMINAL_STATUS = TERMINAL_STATUS
local MARKER_KEY = api.MARKER_KEY

function M.new(transport)
  return setmetatable({ _t = transport }, Runs)
end

function Runs:__tostring() return "exa.runs" end

-- Per-call options: {headers = {...}, timeout = s, max_retries = n}, and
-- what call adds (validate.OPTIONS): create marker, stream marker and resume.
local function call_opts(opts, call)
  return validate.call_options(opts, call)
end

-- Run the argument checks (pure Lua, never yields, so pcall is safe on
-- 5.1 too) and scrub the API key from any error they raise: a validation
-- message quotes the bad value, and a caller may pass the key by mistake.
local function checked(self, fn, ...)
  local ok, a, b, c = pcall(fn, ...)
  if not ok then
    if errors.is_error(a) then self._t.redact(a) end
    error(a, 0)
  end
  return a, b, c
end

local function spec(method, path, opts, extra)
  local s = {
    method = method, path = path,
    headers = opts.headers, timeout = opts.timeout, max_retries = opts.max_retries,
  }
  if extra then for k, v in pairs(extra) do s[k] = v end end
  return s
end

-- Query for list endpoints: limit, cursor checked; other scalars pass
-- through, but for near misses of limit and cursor (validate.page_query).
local page_query = validate.page_query

-- A fresh marker for one create: 128 random bits as hex.
local function new_marker()
  local f = io_open("/dev/urandom", "rb")
  local b = f and f:read(16)
  if f then f:close() end
  local hex = {}
  for i = 1, 16 do
    local byte = b and #b == 16 and string_byte(b, i) or math_floor(retry.jitter() * 256)
    hex[i] = string_format("%02x", byte)
  end
  return table_concat(hex)
end

-- The encoded create body, and its marker: metadata[MARKER_KEY] (the
-- caller's own value when it set one) unless marking is off.
local function create_body(params, mark, which_api)
  params = builder.unwrap(params)
  validate.create_params(params, which_api)
  local b = body.create(params)
  local marker
  if mark then
    local md = b.metadata
    if type(md) ~= "table" or md == json.null then
      md = {}
      b.metadata = md
    end
    marker = md[MARKER_KEY]
    if type(marker) ~= "string" or marker == "" then
      marker = new_marker()
      md[MARKER_KEY] = marker
    end
  end
  return body.encode(b), marker
end

-- Is marking on for this call? (client option create_marker, per-call marker)
local function marking(self, opts)
  if opts.marker ~= nil then return opts.marker ~= false end
  return self._t.create_marker ~= false
end

--- The run whose metadata carries marker among the newest runs: the run,
--- false when none does, or nil and the error when the lookup failed.
function Runs:find_marker(marker, opts)
  opts = checked(self, call_opts, opts, "find_marker")
  local q = { limit = 100 }
  for _ = 1, 2 do
    local ok, page = ypcall(self.list, self, q, opts)
    if not ok then return nil, page end
    if type(page) ~= "table" or type(page.data) ~= "table" then
      return nil, errors.new{ kind = "protocol", message = "list response has no data array" }
    end
    for _, run in ipairs(page.data) do
      local req = type(run) == "table" and run.request
      local md = type(req) == "table" and req.metadata
      if type(md) == "table" and md[MARKER_KEY] == marker then return run end
    end
    if page.hasMore ~= true or type(page.nextCursor) ~= "string" then break end
    q.cursor = page.nextCursor
  end
  return false
end

-- The transport spec of a create (JSON or stream), with its marker and the
-- lookup the retry policy uses when its outcome is unknown.
local function create_spec(self, b, marker, opts)
  local s = spec("POST", "/agent/runs", opts, { body = b, retry = "create" })
  if marker then
    s.marker, s.marker_key = marker, MARKER_KEY
    s.resolve = function() return self:find_marker(marker, { headers = opts.headers }) end
  end
  return s
end

local function run_path(id) return "/agent/runs/" .. validate.id(id, "id") end

--- POST /agent/runs -> the run.
function Runs:create(params, opts)
  local b, marker
  b, marker, opts = checked(self, function()
    local o = call_opts(opts, "create")
    local bb, mk = create_body(params, marking(self, o), self._t.api)
    return bb, mk, o
  end)
  return (self._t:json(create_spec(self, b, marker, opts)))
end

-- get, cancel and delete: one run by id, safe to repeat.
local function by_id(self, name, method, suffix, id, opts)
  local path
  path, opts = checked(self, function() return run_path(id) .. suffix, call_opts(opts, name) end)
  return (self._t:json(spec(method, path, opts, { retry = "idempotent" })))
end

--- GET /agent/runs/{id} -> the run.
function Runs:get(id, opts) return by_id(self, "get", "GET", "", id, opts) end

--- POST /agent/runs/{id}/cancel -> the run (the existing run if already terminal).
function Runs:cancel(id, opts) return by_id(self, "cancel", "POST", "/cancel", id, opts) end

--- DELETE /agent/runs/{id} -> {id=, object="agent_run.deleted", deleted=true}.
function Runs:delete(id, opts) return by_id(self, "delete", "DELETE", "", id, opts) end

-- One page of a list endpoint; q and opts already checked.
local function get_page(self, path, q, opts)
  return (self._t:json(spec("GET", path, opts, { query = q, retry = "idempotent" })))
end

--- GET /agent/runs?limit=&cursor= -> {data=, hasMore=, nextCursor=}.
function Runs:list(params, opts)
  local q
  q, opts = checked(self, function() return page_query(params), call_opts(opts, "list") end)
  return get_page(self, "/agent/runs", q, opts)
end

--- GET /agent/runs/{id}/events?limit=&cursor= -> a page of stored events.
function Runs:events(id, params, opts)
  local path, q
  path, q, opts = checked(self, function()
    return run_path(id) .. "/events", page_query(params), call_opts(opts, "events")
  end)
  return get_page(self, path, q, opts)
end

-- Lazy iterator over the items of consecutive pages of path. q (a fresh
-- table from page_query) gets each next cursor.
local function pages(self, path, q, opts)
  local page, data, i, seen = nil, nil, 0, {}
  local finished = false
  return function()
    while not finished do
      if page then
        i = i + 1
        local item = data[i] -- the page's items, looked up once per page
        if item ~= nil then return item end
        local cur = page.nextCursor
        if not page.hasMore or page.hasMore == json.null then
          finished = true
          return nil
        end
        if type(cur) ~= "string" or cur == "" then
          finished = true
          errors.raise{ kind = "protocol", message = "page says hasMore but gives no nextCursor" }
        end
        if seen[cur] then
          finished = true
          errors.raise{ kind = "protocol", message = "pagination loops: cursor " .. cur .. " came twice" }
        end
        seen[cur] = true
        q.cursor = cur
      end
      page = get_page(self, path, q, opts)
      i = 0
      if type(page) ~= "table" or type(page.data) ~= "table" then
        finished = true
        errors.raise{ kind = "protocol", message = "list response has no data array" }
      end
      data = page.data
    end
    return nil
  end
end

--- Every run, newest first, pages fetched as the loop needs them.
function Runs:iter(params, opts)
  local q
  q, opts = checked(self, function() return page_query(params), call_opts(opts, "iter") end)
  return pages(self, "/agent/runs", q, opts)
end

--- Every stored event of a run (JSON pages).
function Runs:iter_events(id, params, opts)
  local path, q
  path, q, opts = checked(self, function()
    return run_path(id) .. "/events", page_query(params), call_opts(opts, "iter_events")
  end)
  return pages(self, path, q, opts)
end


--- A new run's events as they happen (POST, Accept: text/event-stream).
--- Returns the stream (callable iterator) and, for 5.4's generic for, a
--- to-be-closed value that frees the transfer if the loop is left early.
function Runs:stream(params, opts)
  local b, marker
  b, marker, opts = checked(self, function()
    local o = call_opts(opts, "stream")
    local bb, mk = create_body(params, marking(self, o), self._t.api)
    return bb, mk, o
  end)
  local s = stream.new(self._t, self, create_spec(self, b, marker, opts),
    { mode = "live", resume = opts.resume })
  return s, nil, nil, s
end

--- The stored events of a run as SSE, after last_event_id if given.
function Runs:replay(id, params, opts)
  local path, last
  path, last, opts = checked(self, function()
    local pth = run_path(id) .. "/events"
    local p = validate.options(params, "replay_params")
    return pth, validate.last_event_id(p.last_event_id, "last_event_id"), call_opts(opts, "replay")
  end)
  local s = stream.new(self._t, self, spec("GET", path, opts, { retry = "idempotent", last_event_id = last }),
    { mode = "replay", run_id = id, last_event_id = last })
  return s, nil, nil, s
end

-- wait() and run() give up after an hour unless told otherwise: a run's own
-- limit is an hour, and exa-js / exa-py poll for an hour by default too.
M.DEFAULT_WAIT_TIMEOUT = 3600

--- Poll get(id) until the run is terminal; returns the run. Raises a
--- "timeout" error object (with .run = the last run seen) after timeout s
--- (default M.DEFAULT_WAIT_TIMEOUT, an hour).
function Runs:wait(id, params, opts)
  local timeout, interval
  timeout, interval, opts = checked(self, function()
    validate.id(id, "id")
    local p = validate.wait_params(params, "wait_params")
    local t = p.timeout
    if t == nil then t = M.DEFAULT_WAIT_TIMEOUT end
    return t, p.interval, call_opts(opts, "wait")
  end)
  local start = clock.now()
  local delay = interval or 0.5
  while true do
    local run = self:get(id, opts)
    if type(run) == "table" and TERMINAL_STATUS[run.status] then return run end
    local elapsed = clock.now() - start
    if elapsed + delay > timeout then
      if elapsed < timeout then self._t.sleep(timeout - elapsed) end
      run = self:get(id, opts)
      if type(run) == "table" and TERMINAL_STATUS[run.status] then return run end
      error(errors.new{
        kind = "timeout", code = "WAIT_TIMEOUT", run = run,
        message = string_format("run %s still %s after %gs", id, tostring(run and run.status), timeout),
        retryable = true,
      }, 0)
    end
    self._t.sleep(delay)
    if not interval and delay < 5 then delay = delay * 1.5 end
  end
end

--- Run every params of list to its end, at most `concurrency` (default 2,
--- the account's default limit) active at once; returns the terminal runs in
--- input order. See exa/batch.lua.
function Runs:batch(list, opts)
  return batch.run(self, list, opts)
end

--- POST /agent/runs/{id}/stop -> the run. The post-beta API: a running run
--- completes early with what it has gathered (stopReason "stopped").
function Runs:stop(id, opts) return by_id(self, "stop", "POST", "/stop", id, opts) end

-- What a run that did not complete raises from run().
local OUTCOME = {
  failed = { kind = "run_failed", code = "RUN_FAILED" },
  cancelled = { kind = "run_cancelled", code = "RUN_CANCELLED" },
}

--- Create a run and wait until it ends: the completed run (stopped early or
--- not). A failed or cancelled run raises kind "run_failed" / "run_cancelled"
--- with .run; params as for create, wparams = {timeout=, interval=} as for
--- wait (the same default timeout, an hour), opts the per-call options of both.
function Runs:run(params, wparams, opts)
  local wp = checked(self, function()
    local p = validate.wait_params(wparams, "run_wait")
    call_opts(opts, "run")
    return { timeout = p.timeout, interval = p.interval }
  end)
  local run = self:create(params, opts)
  if type(run) ~= "table" or type(run.id) ~= "string" then
    errors.raise{ kind = "protocol", message = "create returned no run id" }
  end
  if not TERMINAL_STATUS[run.status] then
    -- wait takes the per-call options but create's marker
    local wo = opts and { headers = opts.headers, timeout = opts.timeout, max_retries = opts.max_retries }
    run = self:wait(run.id, wp, wo)
  end
  local o = OUTCOME[run.status]
  if o then
    local why = run.stopReason
    if type(why) ~= "string" then why = nil end
    errors.raise{
      kind = o.kind, code = o.code, run = run, run_id = run.id,
      message = string_format("run %s %s%s", run.id, run.status, why and (" (" .. why .. ")") or ""),
    }
  end
  return run
end

return M
