-- SSE streams: resume after a dropped connection (every event exactly once,
-- in order), replay recovery, wire variants, coroutines, abandoning a stream.
local exa = require "exa"
local mock = require "helpers.mock"

describe("streams", function()
  local srv
  local KEY = "sk-stream-spec"
  setup(function() srv = mock.start{ "--speed", "100", "--max-active", "100" } end)
  teardown(function() srv:stop() end)

  local function client(fault, o)
    o = o or {}
    o.api_key = KEY
    o.base_url = srv.url
    o.headers = fault and { ["X-Mock-Fault"] = fault } or nil
    return exa.new(o)
  end

  local plain = nil
  local function stored(id)
    plain = plain or client()
    local all = {}
    for ev in plain.runs:iter_events(id, { limit = 100 }) do all[#all + 1] = ev end
    return all
  end

  local function assert_exactly_once(evs, id)
    local want = stored(id)
    assert.equals(#want, #evs, "event count")
    for i, ev in ipairs(evs) do
      assert.equals(tostring(want[i].id), ev.id, "event " .. i)
      assert.equals(want[i].event, ev.event, "event " .. i)
    end
  end

  it("resumes a dropped live stream from the last event id: none lost, none repeated", function()
    local c = client("close-after-events=3")
    local evs = {}
    for ev in c.runs:stream{ query = "resume me", effort = "low" } do evs[#evs + 1] = ev end
    assert.is_true(#evs > 6)
    assert.equals("agent_run.created", evs[1].event)
    assert.equals("agent_run.completed", evs[#evs].event)
    for i, ev in ipairs(evs) do assert.equals(tostring(i), ev.id) end
    assert_exactly_once(evs, evs[1].data.id)
  end)

  it("resumes after a drop at every position", function()
    for k = 1, 4 do
      local c = client("close-after-events=" .. k)
      local evs = {}
      for ev in c.runs:stream{ query = "drop " .. k, effort = "low" } do evs[#evs + 1] = ev end
      assert.equals("agent_run.completed", evs[#evs].event, "k=" .. k)
      assert_exactly_once(evs, evs[1].data.id)
      c:close()
    end
  end)

  it("with resume = false a drop is an error object", function()
    -- the fault cuts the chunked body short: a transfer error, not a clean end
    local c = client("close-after-events=2")
    local got = 0
    local ok, e = pcall(function()
      for _ in c.runs:stream({ query = "no resume", effort = "low" }, { resume = false }) do got = got + 1 end
    end)
    assert.equals(2, got)
    assert.is_false(ok)
    assert.is_true(exa.is_error(e, "transport"), tostring(e))
  end)

  it("replay recovers from a dropped connection", function()
    local run = client().runs:create{ query = "replay drop", effort = "low" }
    client().runs:wait(run.id, { interval = 0.05 })
    local c = client("close-after-events=2")
    local evs = {}
    for ev in c.runs:replay(run.id) do evs[#evs + 1] = ev end
    assert_exactly_once(evs, run.id)
    local after = {}
    for ev in c.runs:replay(run.id, { last_event_id = 4 }) do after[#after + 1] = ev.id end
    assert.equals("5", after[1])
    assert.equals(#evs - 4, #after)
  end)

  for _, fault in ipairs{ "drip", "sse-eol=cr", "sse-eol=crlf", "gzip", "keepalive-ms=1" } do
    it("parses the stream with fault " .. fault, function()
      local c = client(fault)
      local evs = {}
      for ev in c.runs:stream{ query = "wire " .. fault, effort = "low" } do evs[#evs + 1] = ev end
      assert.equals("agent_run.completed", evs[#evs].event)
      assert.equals("completed", evs[#evs].data.status)
      assert_exactly_once(evs, evs[1].data.id)
    end)
  end

  it("interleaves two streams in two coroutines", function()
    -- each run lasts 0.3 s (30 simulated seconds at --speed 100)
    local c = client("run-seconds=30")
    local function consumer(q)
      return coroutine.create(function()
        for ev in c.runs:stream{ query = q, effort = "low" } do coroutine.yield(ev) end
        return "done"
      end)
    end
    local cos = { consumer("first"), consumer("second") }
    local got = { {}, {} }
    local finished = { false, false }
    while not (finished[1] and finished[2]) do
      for i = 1, 2 do
        if not finished[i] then
          local ok, ev = coroutine.resume(cos[i])
          assert.is_true(ok, tostring(ev))
          if ev == "done" then
            finished[i] = true
          else
            got[i][#got[i] + 1] = ev
          end
        end
      end
    end
    for i = 1, 2 do
      local evs = got[i]
      assert.equals("agent_run.completed", evs[#evs].event)
      assert_exactly_once(evs, evs[1].data.id)
    end
    assert.are_not.equal(got[1][1].data.id, got[2][1].data.id)
    -- really interleaved: by the simulator's clock the second run was created
    -- while the first was still going, so the first stream was not read to
    -- its end before the second began (ISO times with milliseconds compare
    -- as strings)
    local first_done = got[1][#got[1]].data.completedAt
    local second_created = got[2][1].data.createdAt
    assert.is_true(second_created < first_done, second_created .. " is not before " .. first_done)
  end)

  local last_stats
  local function wait_streams_closed()
    for _ = 1, 200 do
      local st = srv:stats()
      if st.open_streams == 0 then return true end
      last_stats = st
      os.execute("sleep 0.05")
    end
    return false
  end

  it("close() mid-stream frees the transfer", function()
    local c = client()
    local s = c.runs:stream{ query = "abandon", effort = "xhigh" }
    local first = s()
    assert.equals("agent_run.created", first.event)
    s:close()
    assert.is_nil(s())
    assert.is_true(wait_streams_closed(), require("exa.json").encode(last_stats or {}))
    c.runs:cancel(first.data.id)
  end)

  if _VERSION == "Lua 5.4" then
    it("leaving a for loop early closes the stream (to-be-closed value)", function()
      local c = client()
      local id
      for ev in c.runs:stream{ query = "break out", effort = "xhigh" } do
        id = ev.data.id
        break
      end
      assert.is_true(wait_streams_closed(), require("exa.json").encode(last_stats or {}))
      c.runs:cancel(id)
    end)
  end

  it("an abandoned stream is freed by the garbage collector", function()
    local c = client()
    -- The stream lives only in this function's frame: once it returns, no
    -- register can still hold it (a dead `do local s ... end` slot in the
    -- caller's frame may stay reachable on 5.1/5.2/LuaJIT).
    local function start()
      local s = c.runs:stream{ query = "forgotten", effort = "xhigh" }
      return s().data.id
    end
    local id = start()
    collectgarbage()
    collectgarbage()
    assert.is_true(wait_streams_closed(), require("exa.json").encode(last_stats or {}))
    c.runs:cancel(id)
  end)

  it("a cancelled run ends the stream with agent_run.cancelled", function()
    local c = client()
    local other = client()
    local last
    for ev in c.runs:stream{ query = "cancel me", effort = "xhigh" } do
      if ev.event == "agent_run.started" then other.runs:cancel(ev.data.id) end
      last = ev
    end
    assert.equals("agent_run.cancelled", last.event)
  end)
end)
