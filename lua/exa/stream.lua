-- exa.stream: SSE iterators over a run's events.
--
--   live   POST /agent/runs with Accept: text/event-stream. If the connection
--          drops before a terminal event, the stream resumes transparently:
--          it replays from the last event id it delivered, and since replay
--          only sends what is stored and closes, it polls replay (short
--          backoff, a GET of the run when nothing new came) until the
--          terminal event arrives. Every event is delivered once, in order.
--   replay GET /agent/runs/{id}/events with Accept: text/event-stream and
--          Last-Event-ID: ends when the server closes; a transfer error
--          mid-replay re-replays from the last delivered id.
--
-- A stream is a callable object, so `for ev in client.runs:stream(p) do`
-- works on every Lua; on 5.4 the 4th value the runs methods return closes
-- the transfer when the loop is left early (break, error). s:close() does it
-- by hand. The C core never calls Lua, so a stream can be iterated from a
-- coroutine that yields between events.
local type, setmetatable, tonumber, error, pcall =
  type, setmetatable, tonumber, error, pcall
local string_find = string.find

local json = require "exa.json"
local errors = require "exa.errors"

local M = {}

local TERMINAL = {
  ["agent_run.completed"] = true,
  ["agent_run.failed"] = true,
  ["agent_run.cancelled"] = true,
}
M.TERMINAL_EVENTS = TERMINAL

local LIFECYCLE = {
  ["agent_run.created"] = true, ["agent_run.started"] = true,
  ["agent_run.completed"] = true, ["agent_run.failed"] = true,
  ["agent_run.cancelled"] = true,
}

-- Run statuses from which a run never moves on (runs.wait uses them too).
local TERMINAL_STATUS = { completed = true, failed = true, cancelled = true }
M.TERMINAL_STATUS = TERMINAL_STATUS

-- errors that a replay cannot cure: the same bytes would fail again
local FATAL_KIND = { too_large = true, sse = true, tls = true }

local Stream = {}
Stream.__index = Stream

-- Resume polling: the wait after a replay that brought nothing new doubles
-- from POLL_MIN up to POLL_MAX seconds.
local POLL_MIN, POLL_MAX = 0.1, 2

-- The event table exa.core made for us becomes the user's event: data
-- decoded when it is JSON, the SSE retry and has_id fields (ours, not theirs) dropped.
local function shape(ev)
  local v = json.decode(ev.data)
  if v ~= nil then ev.data = v end
  ev.retry = nil
  ev.has_id = nil
end

--- runs: the runs resource (for get); spec: transport spec of the first
--- request; o: {mode = "live"|"replay", run_id=, last_event_id=, resume=}
function M.new(transport, runs, spec, o)
  local self = setmetatable({
    transport = transport,
    runs = runs,
    spec = spec,
    mode = o.mode,
    run_id = o.run_id,
    last_event_id = o.last_event_id,
    high = tonumber(o.last_event_id or ""),
    resume = o.resume ~= false,
    max_failures = transport.max_retries + 1,
    failures = 0,
    delay = nil,
    done = false,
    t = nil,
    got_new = false,
    resumes = 0,
  }, Stream)
  return self
end

function Stream:close()
  self.done = true
  if self.t then
    self.t:close()
    self.t = nil
  end
end

Stream.__close = Stream.close
Stream.__gc = Stream.close -- tables honour __gc on 5.2+; the transfer has its own

function Stream:__call()
  return self:next()
end

function Stream:replay_spec_for(run_id)
  local s = self.spec
  return {
    method = "GET",
    path = "/agent/runs/" .. run_id .. "/events",
    headers = s.headers,
    retry = "idempotent",
    max_retries = s.max_retries,
  }
end

local function is_dup(self, id)
  if self.following then
    local n = tonumber(id or "")
    if n and self.high and n <= self.high then return true end
  end
  return false
end

-- The transfer ended (cleanly when err is nil). Decide: finish, or set up
-- the next replay (after sleeping), or raise.
function Stream:ended(err)
  if self.t then self.t:close(); self.t = nil end
  local e = err and self.transport:stream_error(err, self.spec_in_use)
  if e and FATAL_KIND[e.kind] then self.done = true; error(e, 0) end
  if self.mode == "replay" and not e then
    self.done = true
    return false
  end
  if self.mode == "live" and not self.following then
    if not self.resume or not self.run_id then
      self.done = true
      if e then
        if not self.run_id then
          e.message = e.message .. " (the stream broke before the run id arrived; a run may have been created)"
        end
        error(e, 0)
      end
      return false
    end
    -- switch to following the run through replays
    self.following = true
    self.replay_spec = self:replay_spec_for(self.run_id)
    self.resumes = self.resumes + 1
    self.delay = nil
    return true
  end
  -- replay mode after an error, or following
  if self.mode == "replay" then
    self.following = true
    if not self.replay_spec then self.replay_spec = self.spec end
  end
  if e then
    self.failures = self.failures + 1
    if self.failures > self.max_failures then self.done = true; error(e, 0) end
  elseif self.mode == "live" and not self.got_new then
    -- a replay that brought nothing new: is the run still going?
    local run = self.runs:get(self.run_id, { headers = self.spec.headers })
    if type(run) == "table" and TERMINAL_STATUS[run.status] then
      if self.final_replay then
        self.done = true -- ended with a status we have no terminal event for
        return false
      end
      self.final_replay = true
      return true
    end
  end
  if self.got_new then
    self.delay = nil
    return true
  end
  local d = self.delay and self.delay * 2 or POLL_MIN
  if d > POLL_MAX then d = POLL_MAX end
  self.delay = d
  self.transport.sleep(d)
  return true
end

function Stream:next()
  while not self.done do
    if not self.t then
      self.spec_in_use = self.following and self.replay_spec or self.spec
      if self.following then self.replay_spec.last_event_id = self.last_event_id end
      local ok, e = pcall(self.transport.open_sse, self.transport, self.spec_in_use)
      if not ok then
        -- opening a resume replay failed after the transport's own retries
        if self.following and errors.is_error(e) and e.retryable and not self.done then
          self.failures = self.failures + 1
          if self.failures > self.max_failures then self.done = true; error(e, 0) end
          self.transport.sleep(POLL_MAX)
        else
          self.done = true
          error(e, 0)
        end
      else
        self.t = e
        self.got_new = false
      end
    else
      local ev, err = self.t:next_event()
      if ev then
        if not is_dup(self, ev.id) then
          shape(ev)
          if ev.id ~= "" then
            self.last_event_id = ev.id
            local n = tonumber(ev.id)
            if n and (not self.high or n > self.high) then self.high = n end
          end
          self.got_new = true
          self.failures = 0
          local d = ev.data
          if not self.run_id and LIFECYCLE[ev.event] and type(d) == "table"
            and type(d.id) == "string" and string_find(d.id, "^[A-Za-z0-9_.:-]+$") then
            self.run_id = d.id
          end
          if TERMINAL[ev.event] then self:close() end
          return ev
        end
      elseif not self:ended(err) then
        return nil
      end
    end
  end
  return nil
end

return M
