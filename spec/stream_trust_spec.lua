-- Stream trust (issue 7, items 3, 7 and 8; "tests that can fail"): a stream
-- never ends as if complete after losing events, never delivers one twice,
-- draws every reconnect from one budget of attempts refilled by progress,
-- and gets the SSE details right. Against a raw peer that plays the API
-- with scripted cuts (spec/helpers/api_peer_server.lua), which also records
-- the bytes of every request it got.
local exa = require "exa"
local peer = require "helpers.api_peer"

describe("stream trust", function()
  local p
  local serial = 0
  setup(function() p = peer.start(300) end)
  teardown(function() p:stop() end)

  -- A fresh session (key) on the peer and a client for it that records its
  -- sleeps and retries.
  local function session(o, copts)
    serial = serial + 1
    o.key = "sk-trust-" .. serial
    local made = p:session(o)
    local rec = { slept = {}, retries = {} }
    copts = copts or {}
    copts.api_key = o.key
    copts.base_url = p.url
    copts.stream_idle_timeout = copts.stream_idle_timeout or 5
    copts.sleep = function(s) rec.slept[#rec.slept + 1] = s end
    copts.on_retry = function(e, attempt, delay)
      rec.retries[#rec.retries + 1] = { kind = e.kind, attempt = attempt, delay = delay }
    end
    return exa.new(copts), rec, made, o.key
  end

  -- k for a cut at event j of a response that carries m events
  local function at_event(j, m) return (j - 0.5) / m end

  local function drain(s)
    local evs = {}
    local ok, e = pcall(function() for ev in s do evs[#evs + 1] = ev end end)
    return evs, ok, e
  end

  local function ids(evs)
    local out = {}
    for i, ev in ipairs(evs) do out[i] = ev.id end
    return table.concat(out, ",")
  end

  local function seq(a, b)
    local out = {}
    for i = a, b do out[#out + 1] = tostring(i) end
    return table.concat(out, ",")
  end

  -- the requests of key to a path (pattern)
  local function requests(key, pattern)
    local out = {}
    for _, r in ipairs(p:log(key).requests) do
      if r.target:find(pattern) then out[#out + 1] = r end
    end
    return out
  end

  -- Item 3 (a): no event carrying the run id, then a clean end.
  describe("a live stream that ends cleanly before the run id arrives", function()
    for _, v in ipairs{ { framing = "chunked", how = "clean" }, { framing = "close", how = "fin" } } do
      it("(" .. v.framing .. ") finds its run by the create's marker and replays it: every event once", function()
        local c, _, _, key = session{ n = 6, plan = { create = {
          { framing = v.framing, cut = { at = "before", k = 0, how = v.how } } } } }
        local evs, ok, e = drain(c.runs:stream{ query = "clean end, no id" })
        assert(ok, tostring(e))
        assert.equals(seq(1, 6), ids(evs))
        assert.equals("agent_run.completed", evs[#evs].event)
        local log = p:log(key)
        assert.equals(1, #log.runs, "one run")
        assert.equals(1, #requests(key, "^/agent/runs%?"), "the marker lookup")
      end)
    end

    it("sends the create again when the marker finds no run: still one run, every event once", function()
      local c, _, _, key = session{ n = 5, plan = { create = {
        { framing = "chunked", cut = { at = "before", k = 0, how = "clean", run = false } } } } }
      local evs, ok, e = drain(c.runs:stream{ query = "no run made" })
      assert(ok, tostring(e))
      assert.equals(seq(1, 5), ids(evs))
      assert.equals(2, #requests(key, "^/agent/runs$"), "two creates")
      assert.equals(1, #p:log(key).runs)
    end)

    it("without a marker raises an error object instead of ending with 0 events", function()
      local c = session({ n = 5, plan = { create = {
        { framing = "close", cut = { at = "before", k = 0, how = "fin" } } } } }, { create_marker = false })
      local evs, ok, e = drain(c.runs:stream{ query = "no marker" })
      assert.is_false(ok)
      assert.equals(0, #evs)
      assert.is_true(exa.is_error(e), tostring(e))
      assert.matches("run id", e.message)
    end)
  end)

  -- Item 3 (b) and the "terminal run, short replay" branch of stream.lua.
  describe("a close-delimited replay cut short", function()
    it("cut inside an event of a run still going: replays again from the last id", function()
      -- the run stores 5 of its 9 events and stays running
      local c, rec, made, key = session{ n = 9, step = 0, runs = { { n = 9, stored = 5 } },
        plan = { replay = { { framing = "close", cut = { at = "mid-event", k = at_event(3, 5), r = 0.9,
          how = "fin" } } } } }
      local evs, ok, e = drain(c.runs:replay(made.runs[1]))
      assert(ok, tostring(e))
      assert.equals(seq(1, 5), ids(evs))
      local replays = requests(key, "/events$")
      assert.equals(2, #replays)
      assert.equals("2", replays[2].headers["last-event-id"])
      assert.equals(1, #rec.retries)
    end)

    it("cut between events of a run that has ended: replays again until the terminal event", function()
      -- a clean end at an event boundary: only the run's status shows the cut
      for _, cursor in ipairs{ "id", "opaque" } do
        local c, rec, made = session{ n = 8, runs = { { n = 8 } }, cursor = cursor ~= "opaque" and cursor or nil,
          plan = { replay = { { framing = "close", cut = { at = "between", k = at_event(4, 8), how = "fin" } },
            { framing = "close", cut = { at = "between", k = at_event(2, 4), how = "fin" } } } } }
        local evs, ok, e = drain(c.runs:replay(made.runs[1]))
        assert(ok, "event cursors " .. cursor .. ": " .. tostring(e))
        assert.equals(seq(1, 8), ids(evs))
        assert.equals("agent_run.completed", evs[#evs].event)
        assert.equals(2, #rec.retries)
      end
    end)

    -- The JSON event pages' cursors are opaque in the contract ("use the
    -- nextCursor value from the previous event list response"): this peer
    -- makes them "evc-<index>", so a last event id given as a cursor is refused.
    it("a replay that starts past the terminal event ends at once, whatever the event cursors look like", function()
      for _, cursor in ipairs{ "id", "opaque" } do
        local c, rec, made = session{ n = 6, runs = { { n = 6 } }, cursor = cursor ~= "opaque" and cursor or nil }
        local evs, ok, e = drain(c.runs:replay(made.runs[1], { last_event_id = 6 }))
        assert(ok, "event cursors " .. cursor .. ": " .. tostring(e))
        assert.equals(0, #evs)
        assert.equals(0, #rec.retries)
        evs, ok, e = drain(c.runs:replay(made.runs[1], { last_event_id = 5 }))
        assert(ok, "event cursors " .. cursor .. ": " .. tostring(e))
        assert.equals("6", ids(evs))
      end
    end)

    it("a replay that ends cleanly with all the events of a running run is complete (no reconnect)", function()
      local c, rec, made, key = session{ n = 9, step = 0, runs = { { n = 9, stored = 4 } } }
      local evs, ok, e = drain(c.runs:replay(made.runs[1], { last_event_id = 1 }))
      assert(ok, tostring(e))
      assert.equals(seq(2, 4), ids(evs))
      assert.equals(0, #rec.retries)
      assert.equals(1, #requests(key, "/events$"))
    end)
  end)

  -- Item 3 (c).
  it("after a resume, an event without its own id is delivered, not dropped as a duplicate", function()
    -- events 1, 2, 3, <trace without id>, 4, 5; the live stream is cut after event 2
    local c, _, _, key = session{ n = 5, inserts = { ["3"] = "noid" }, plan = { create = {
      { framing = "chunked", cut = { at = "between", k = at_event(2, 6), how = "rst" } } } } }
    local evs, ok, e = drain(c.runs:stream{ query = "id-less event" })
    assert(ok, tostring(e))
    local names = {}
    for i, ev in ipairs(evs) do names[i] = ev.event end
    assert.same({ "agent_run.created", "agent_run.started", "agent_run.output_item.added",
      "agent_run.search_trace", "agent_run.output_item.added", "agent_run.completed" }, names)
    assert.equals("noid after 3", evs[4].data.text)
    assert.equals("2", requests(key, "/events$")[1].headers["last-event-id"])
  end)

  -- Duplicate dropping: a server that replays the event at Last-Event-ID again.
  it("drops the events a sloppy server replays again (overlap): every event once", function()
    local c, _, _, key = session{ n = 8, overlap = 2, plan = {
      create = { { framing = "chunked", cut = { at = "mid-line", k = at_event(4, 8), r = 0.5, how = "rst" } } },
      replay = { { framing = "close", cut = { at = "mid-event", k = at_event(3, 6), r = 0.2, how = "rst" } } } } }
    local evs, ok, e = drain(c.runs:stream{ query = "overlap" })
    assert(ok, tostring(e))
    assert.equals(seq(1, 8), ids(evs))
    assert.equals(2, #requests(key, "/events$"))
  end)

  -- Item 7: one budget of attempts per stream.
  describe("the attempt budget", function()
    it("max_retries = 2: a dropped stream whose server is then gone makes 3 attempts and 2 sleeps", function()
      -- a peer of its own: this one stops listening for good
      local q = peer.start(60)
      local ok0, err0 = pcall(function()
        local key = "sk-gone"
        q:session{ key = key, n = 8, plan = { create = {
          { framing = "chunked", gone = true, cut = { at = "between", k = at_event(3, 8), how = "rst" } } } } }
        local slept, retries = 0, 0
        local c = exa.new{ api_key = key, base_url = q.url, max_retries = 2,
          sleep = function() slept = slept + 1 end, on_retry = function() retries = retries + 1 end }
        local evs, ok, e = drain(c.runs:stream{ query = "then gone" })
        assert.is_false(ok)
        assert.equals(seq(1, 3), ids(evs))
        assert.is_true(exa.is_error(e, "connect"), tostring(e))
        assert.equals(3, e.attempts)
        assert.equals(2, slept)
        assert.equals(2, retries)
        local log = q:log(key)
        assert.is_true(log.gone)
        assert.equals(1, #log.requests)
      end)
      q:stop()
      assert(ok0, err0)
    end)

    it("max_retries = 2: a server that resets every resume sees exactly 3 connections", function()
      local reset = { framing = "chunked", cut = { at = "head", r = 0, how = "rst" } }
      local c, rec, _, key = session({ n = 8, plan = {
        create = { { framing = "chunked", cut = { at = "between", k = at_event(3, 8), how = "rst" } } },
        replay = { reset, reset, reset, reset, reset } } }, { max_retries = 2 })
      local before = p:log().conns
      local evs, ok, e = drain(c.runs:stream{ query = "broken" })
      assert.is_false(ok)
      assert.equals(seq(1, 3), ids(evs))
      assert.is_true(exa.is_error(e), tostring(e))
      assert.equals(3, e.attempts)
      assert.equals(2, #rec.slept)
      assert.equals(3, #p:log(key).requests)
      assert.equals(before + 3, p:log().conns)
    end)

    it("a resume that makes progress refills it: 5 drops, each after new events, still complete", function()
      local function drop_after_first() -- each replay brings one new event, then an RST
        return { framing = "chunked", cut = { at = "between", k = 0, how = "rst" } }
      end
      local c, rec = session({ n = 10, plan = {
        create = { { framing = "chunked", cut = { at = "between", k = at_event(2, 10), how = "rst" } } },
        replay = { drop_after_first(), drop_after_first(), drop_after_first(), drop_after_first() } } },
        { max_retries = 2 })
      local evs, ok, e = drain(c.runs:stream{ query = "refill" })
      assert(ok, tostring(e))
      assert.equals(seq(1, 10), ids(evs))
      assert.equals(5, #rec.retries)
      assert.equals(5, #rec.slept)
    end)
  end)

  -- Item 8: SSE details.
  it("an empty id field resets the last event id: the resume sends no Last-Event-ID", function()
    -- events 1, 2, <trace with an empty id>, 3..6; the live stream is cut just after the trace
    local c, _, _, key = session{ n = 6, inserts = { ["2"] = "emptyid" }, plan = { create = {
      { framing = "chunked", cut = { at = "between", k = at_event(3, 7), how = "rst" } } } } }
    local evs, ok, e = drain(c.runs:stream{ query = "empty id" })
    assert(ok, tostring(e))
    local replays = requests(key, "/events$")
    assert.equals(1, #replays)
    assert.same({}, peer.header_values(replays[1], "last-event-id"))
    -- events that carry their own ids still come once each, in order
    local numbered = {}
    for _, ev in ipairs(evs) do
      if ev.event ~= "agent_run.search_trace" then numbered[#numbered + 1] = ev.id end
    end
    assert.equals(seq(1, 6), table.concat(numbered, ","))
    assert.equals("agent_run.completed", evs[#evs].event)
  end)

  it("a completed event whose data is a 3 MiB run object streams with the default bounds", function()
    local big = 3 * 1024 * 1024
    local c = session{ n = 4, big = big }
    local evs, ok, e = drain(c.runs:stream{ query = "big" })
    assert(ok, tostring(e))
    assert.equals(seq(1, 4), ids(evs))
    assert.equals(big, #evs[4].data.output.text)
  end)

  it("sends Cache-Control: no-cache on event-stream requests only", function()
    local c, _, made, key = session{ n = 5, runs = { { n = 5 } }, plan = { create = {
      { framing = "chunked", cut = { at = "between", k = at_event(2, 5), how = "rst" } } } } }
    local evs = drain(c.runs:stream{ query = "headers" })
    assert.equals(5, #evs)
    drain(c.runs:replay(made.runs[1]))
    c.runs:get(made.runs[1])
    c.runs:list()
    c.runs:create{ query = "json create" }
    local sse, plain = 0, 0
    for _, r in ipairs(p:log(key).requests) do
      local cc = peer.header_values(r, "cache-control")
      if (r.headers.accept or ""):find("text/event-stream", 1, true) then
        sse = sse + 1
        assert.same({ "no-cache" }, cc, r.method .. " " .. r.target)
      else
        plain = plain + 1
        assert.same({}, cc, r.method .. " " .. r.target)
      end
    end
    assert.equals(3, sse)   -- the live POST, its resume, the replay
    assert.equals(3, plain) -- get, list, the JSON create
  end)
end)
