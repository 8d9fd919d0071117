-- exa.wire.stream: SSE iterators over a run's events, as a state machine.
--
--   live    the POST /agent/runs event stream of a new run
--     │     (dropped, or ended before the terminal event)
--     ▼
--   follow  GET /agent/runs/{id}/events replays from the last delivered id,
--     │     again and again (polling a run that is still going) until the
--     │     terminal event; a replay stream starts here
--     ▼
--   done
--
-- Promises: every event is delivered once, in order; a live stream ends
-- cleanly only after the terminal event; a replay ends cleanly only when its
-- body was not cut (no unterminated event discarded) and the run, if it has
-- ended, gave its terminal event. Otherwise it reconnects (one attempt
-- budget per stream, refilled by progress, retry.lua) or raises.
--
-- A stream is a callable object, so `for ev in client.runs:stream(p) do`
-- works on every Lua; on 5.4 the 4th value the runs methods return closes
-- the transfer when the loop is left early (break, error). s:close() does it
-- by hand. Inside a loop task every wait yields the task (loop.lua).
local type, setmetatable, tonumber, tostring, error, string_format =
  type, setmetatable, tonumber, tostring, error, string.format

local json = require "exa.wire.json"
local errors = require "exa.errors"
local pcall = require("exa.loop.pcall").pcall
local retry = require "exa.wire.retry"
local api = require "exa.api"

local M = {}

local TERMINAL = api.TERMINAL_EVENTS
local TERMINAL_STATUS = api.TERMINAL_STATUS
local LIFECYCLE = api.LIFECYCLE_EVENTS
M.TERMINAL_EVENTS = TERMINAL
M.TERMINAL_STATUS = TERMINAL_STATUS

-- errors that a replay cannot cure: the same bytes would fail again
local FATAL_KIND = { too_large = true, sse = true, tls = true, closed = true, loop = true }

local Stream = {}
Stream.__index = Stream

-- Polling a run that is still going: the wait after a replay that brought
-- nothing new doubles from POLL_MIN up to POLL_MAX seconds.
local POLL_MIN, POLL_MAX = 0.1, 2

--- transport; runs: the runs resource (get, find_marker); spec: the first
--- request; o: {mode = "live"|"replay", run_id=, last_event_id=, resume=}
function M.new(transport, runs, spec, o)
  return setmetatable({
    transport = transport,
    runs = runs,
    spec = spec,
    state = o.mode == "live" and "live" or "follow",
    replay = o.mode == "replay", -- a replay ends with what is stored
    run_id = o.run_id,
    last_event_id = o.last_event_id,
    high = tonumber(o.last_event_id or ""),
    resume = o.resume ~= false,
    budget = retry.budget(spec.max_retries or transport.max_retries),
    h = nil,
    got_new = false,
    poll = nil,
    resumes = 0,
  }, Stream)
end

function Stream:close()
  self.state = "done"
  local h = self.h
  if h then
    self.h = nil
    h:close()
  end
end

Stream.__close = Stream.close
Stream.__gc = Stream.close -- tables honour __gc on 5.2+; the transfer has its own

function Stream:__call()
  return self:next()
end

--- The number of requests this stream has sent so far.
function Stream:attempts() return self.budget.attempts end

local function replay_spec(self)
  local s = self.spec
  return {
    method = "GET",
    path = "/agent/runs/" .. self.run_id .. "/events",
    headers = s.headers,
    retry = "idempotent",
    max_retries = s.max_retries,
    last_event_id = self.last_event_id,
  }
end

local function fail(self, e)
  self:close()
  error(e, 0)
end

local function to_follow(self, run_id)
  if run_id then self.run_id = run_id end
  self.state = "follow"
  self.resumes = self.resumes + 1
  self.poll = nil
end

-- Open the transfer of the current state.
local function open(self)
  local t = self.transport
  if self.opened then self.reconnected = true end
  self.opened = true
  if self.state == "live" then
    self.in_use = self.spec
    local ok, h, found = pcall(t.open_sse, t, self.spec, self.budget)
    if not ok then fail(self, h) end
    if found then -- an earlier attempt did create the run: continue it by replay
      to_follow(self, found.id)
      return open(self)
    end
    self.h = h
  else
    local rs = replay_spec(self)
    self.in_use = rs
    local ok, h = pcall(t.open_sse, t, rs, self.budget)
    if not ok then fail(self, h) end
    self.h = h
  end
  self.got_new = false
end

-- A failure of this stream: reconnect after the policy's delay, or raise.
local function failure(self, e, policy)
  local action, delay = retry.decide(e, policy, self.budget, self.transport)
  if not action then fail(self, e) end
  if self.transport.on_retry then self.transport.on_retry(e, self.budget.attempts, delay) end
  self.transport.sleep(delay)
  return action
end

-- (its url holds the base URL, which may hold the key: scrubbed, as every
-- error the transport makes is)
local function incomplete(self, message)
  local s = self.in_use or self.spec
  return self.transport:scrub(errors.new{ kind = "incomplete", method = s.method,
    url = self.transport.display_base .. s.path, message = message }, s)
end

-- Is the run over? (a GET of its own, with its own retries)
local function run_status(self)
  local ok, run = pcall(self.runs.get, self.runs, self.run_id, { headers = self.spec.headers })
  if not ok then fail(self, run) end
  return type(run) == "table" and run.status or nil
end

-- Are events stored after the last delivered one? The JSON pages are read
-- from the start: their cursors are opaque (the contract promises only that
-- a nextCursor value works), so the last event id is no cursor. Events with
-- numeric ids above the highest delivered are new; with none delivered yet,
-- any stored event is.
local function more_stored(self)
  local high = self.high
  local ok, more = pcall(function()
    -- called, not iterated by a for: PUC 5.1 cannot yield inside a for iterator
    local next_event = self.runs:iter_events(self.run_id, { limit = 100 }, { headers = self.spec.headers })
    while true do
      local ev = next_event()
      if ev == nil then return false end
      if not high then return true end
      local n = type(ev) == "table" and tonumber(ev.id)
      if n and n > high then return true end
    end
  end)
  if not ok then fail(self, more) end
  return more
end

-- The transfer ended: cleanly (err nil; partial: an unterminated event was
-- discarded) or not. Decide the next state.
function Stream:ended(err, partial)
  local h = self.h
  self.h = nil
  if h then h:close() end
  local e = err and self.transport:stream_error(err, self.in_use or self.spec)
  if e and FATAL_KIND[e.kind] then fail(self, e) end
  if self.state == "live" then
    e = e or incomplete(self, partial and "the stream was cut inside an event"
      or "the stream ended before the run's terminal event")
    if not self.resume then fail(self, e) end
    if self.run_id then
      failure(self, e, "idempotent")
      to_follow(self)
      return
    end
    -- no event carrying the run id came: a run may or may not exist
    local marker = self.spec.marker
    if not marker then
      e.message = e.message .. " (no run id arrived; a run may have been created)"
      fail(self, e)
    end
    local action = failure(self, e, "create")
    if action == "resolve" then
      local found, lerr = self.runs:find_marker(marker)
      if found then return to_follow(self, found.id) end
      if found == nil then
        fail(self, self.transport:scrub(errors.new{ kind = "ambiguous", cause = e,
          client_request_id = marker, attempts = self.budget.attempts,
          message = string_format("the stream ended before the run id arrived and looking for the "
            .. "create's marker failed (%s): look for metadata.%s = %q before creating again",
            tostring(lerr and lerr.message), api.MARKER_KEY, marker) }, self.spec))
      end
    end
    return -- not created: send the create again (same marker)
  end
  -- following by replay
  if e or partial then
    failure(self, e or incomplete(self, "the replay was cut inside an event"), "idempotent")
    return
  end
  if self.got_new and not self.replay then
    self.poll = nil
    return -- more may be stored already: replay again at once
  end
  local status = run_status(self)
  if TERMINAL_STATUS[status] then
    -- the run has ended: is anything stored after the last event we have?
    -- (its terminal event, unless that came before where we started)
    if more_stored(self) then
      failure(self, incomplete(self, string_format("run %s is %s but the replay ended before its "
        .. "terminal event", self.run_id, tostring(status))), "idempotent")
      return
    end
    self:close()
    return
  end
  if self.replay then
    self:close() -- a replay of a running run ends with what was stored
    return
  end
  local d = self.poll and self.poll * 2 or POLL_MIN
  if d > POLL_MAX then d = POLL_MAX end
  self.poll = d
  self.transport.sleep(d)
end

local json_decode, refill = json.decode, retry.refill

-- The event table the backend made becomes the user's event: data decoded
-- when it is JSON, the SSE retry field (ours, not theirs) dropped. A backend
-- whose handle says json (exa.core's transfers) hands it over in that shape
-- already, built once in C; has_id is then there only where it differs from
-- id ~= "" (bind.h), so the common event is never edited here.
local function shape(ev)
  local v = json_decode(ev.data)
  if v ~= nil then ev.data = v end
  ev.retry = nil
end

function Stream:next()
  while self.state ~= "done" do
    local h = self.h
    if not h then
      open(self)
      h = self.h
    end
    local ev, err, partial = h:next_event()
    if ev then
      local id = ev.id
      local own = ev.has_id
      if own == nil then own = id ~= "" else ev.has_id = nil end -- a backend that does not say
      local n = own and tonumber(id)
      -- after a reconnect, ids at or below the highest delivered are repeats
      local high = self.high
      if not (n and self.reconnected and high and n <= high) then
        if not h.json then shape(ev) end
        if own then
          -- an empty id resets the last event id: a resume sends none
          self.last_event_id = id ~= "" and id or nil
          if n and (not high or n > high) then self.high = n end
        end
        self.got_new = true
        refill(self.budget)
        local name = ev.event
        if not self.run_id and LIFECYCLE[name] then
          local d = ev.data
          if type(d) == "table" and api.is_run_id(d.id) then self.run_id = d.id end
        end
        if TERMINAL[name] then self:close() end
        return ev
      end
    else
      self:ended(err, partial)
    end
  end
  return nil
end

return M
