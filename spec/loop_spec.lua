-- The built-in loop: many streams in one Lua thread, none blocking another.
-- Order and counts only (which stream finished first, events lost), never times.
local exa = require "exa"
local mock = require "helpers.mock"

local each = require "helpers.each_event"

describe("exa.loop (built-in)", function()
  local srv
  local KEY = "sk-loop-spec"
  setup(function() srv = mock.start{ "--speed", "200", "--max-active", "2000", "--api-key", KEY } end)
  teardown(function() srv:stop() end)

  local function new_client(loop, fault)
    return exa.new{ api_key = KEY, base_url = srv.url, loop = loop,
      headers = fault and { ["X-Mock-Fault"] = fault } or nil }
  end

  local plain
  local function stored(id)
    plain = plain or exa.new{ api_key = KEY, base_url = srv.url }
    local all = {}
    for ev in plain.runs:iter_events(id, { limit = 100 }) do all[#all + 1] = ev end
    return all
  end

  local function assert_stored(evs, id)
    local want = stored(id)
    assert.equals(#want, #evs, "event count of " .. id)
    for i, ev in ipairs(evs) do
      assert.equals(tostring(want[i].id), ev.id, "event " .. i)
      assert.equals(want[i].event, ev.event, "event " .. i)
    end
  end

  it("runs 10 streams at once: a quiet one holds up no other", function()
    local loop = exa.loop()
    local fast = new_client(loop)
    -- the simulator holds the quiet stream's response for 3 s before its
    -- first event; the fast runs take well under that at --speed 200
    local quiet = new_client(loop, "delay-ms=3000")
    local log, evs = {}, {}
    local tasks = {}
    for i = 1, 10 do
      evs[i] = {}
      local c = i == 4 and quiet or fast
      tasks[i] = loop:spawn(function()
        each(c.runs:stream{ query = "loop " .. i, effort = "low" }, function(ev)
          evs[i][#evs[i] + 1] = ev
          log[#log + 1] = { i = i, event = ev.event }
        end)
        return #evs[i]
      end)
    end
    loop:run()
    -- every other stream ended before the quiet one's first event
    local quiet_first, ended = nil, {}
    for n, entry in ipairs(log) do
      if entry.i == 4 and not quiet_first then quiet_first = n end
      if entry.event == "agent_run.completed" then ended[entry.i] = n end
    end
    assert.is_number(quiet_first)
    for i = 1, 10 do
      if i ~= 4 then
        assert.is_number(ended[i], "stream " .. i .. " completed")
        assert.is_true(ended[i] < quiet_first, "stream " .. i .. " ended before the quiet one spoke")
      end
    end
    for i = 1, 10 do
      assert.equals(#evs[i], tasks[i]:wait())
      assert_stored(evs[i], evs[i][1].data.id)
    end
  end)

  it("a task sleeping in a retry backoff delays no other task", function()
    local loop = exa.loop()
    -- every GET of this client is refused once with Retry-After: 2
    local slow = exa.new{ api_key = KEY, base_url = srv.url, loop = loop,
      headers = { ["X-Mock-Fault"] = "fail-first=1,status=503,retry-after=2" } }
    local fast = new_client(loop)
    local order = {}
    local seed = fast.runs:create{ query = "seed", effort = "low" }
    loop:spawn(function()
      slow.runs:get(seed.id)
      order[#order + 1] = "backoff"
    end)
    loop:spawn(function()
      each(fast.runs:stream{ query = "meanwhile", effort = "low" }, function() end)
      order[#order + 1] = "stream"
    end)
    loop:run()
    assert.same({ "stream", "backoff" }, order)
  end)

  it("a task polling in wait() delays no other task", function()
    local loop = exa.loop()
    local poller = new_client(loop)
    local long = new_client(loop, "run-seconds=600")   -- 3 s at --speed 200
    local short = new_client(loop, "run-seconds=100")  -- 0.5 s
    local order = {}
    -- log each poll wait() makes (runs:wait polls through self:get)
    local get = poller.runs.get
    poller.runs.get = function(self, ...)
      order[#order + 1] = "poll"
      return get(self, ...)
    end
    local run = long.runs:create{ query = "long", effort = "low" }
    loop:spawn(function()
      poller.runs:wait(run.id, { interval = 2 })
      order[#order + 1] = "wait"
    end)
    loop:spawn(function()
      each(short.runs:stream{ query = "short", effort = "low" }, function() end)
      order[#order + 1] = "stream"
    end)
    loop:run()
    -- the stream ended while wait() slept between its first two polls
    assert.same({ "poll", "stream", "poll" }, { order[1], order[2], order[3] })
    assert.equals("wait", order[#order])
  end)

  it("task:wait returns results and raises a task's error; loop:run raises the first unseen one", function()
    local loop = exa.loop()
    local c = new_client(loop)
    local ok_task = loop:spawn(function(a, b) return a + b, "x" end, 1, 2)
    local bad = loop:spawn(function() return c.runs:get("run_does_not_exist") end)
    local ok, e = pcall(loop.run, loop)
    assert.is_false(ok)
    assert.is_true(exa.is_error(e, "not_found"))
    local s, x = ok_task:wait()
    assert.equals(3, s)
    assert.equals("x", x)
    local ok2, e2 = pcall(bad.wait, bad)
    assert.is_false(ok2)
    assert.equals(e, e2)
    -- once seen, the error is not raised again
    loop:spawn(function() end)
    loop:run()
  end)

  it("a task waits for another task; loop:sleep yields only the sleeper", function()
    local loop = exa.loop()
    local order = {}
    local a = loop:spawn(function() loop:sleep(0.2); order[#order + 1] = "a"; return "A" end)
    loop:spawn(function()
      order[#order + 1] = "b-start"
      local r = a:wait()
      order[#order + 1] = "b-" .. r
    end)
    loop:spawn(function() loop:sleep(0.05); order[#order + 1] = "c" end)
    loop:run()
    assert.same({ "b-start", "c", "a", "b-A" }, order)
  end)

  it("outside any task the synchronous API works on a shared loop", function()
    local loop = exa.loop()
    local c = new_client(loop)
    local run = c.runs:create{ query = "sync", effort = "low" }
    assert.equals("string", type(run.id))
    local n = 0
    each(c.runs:stream{ query = "sync stream", effort = "low" }, function() n = n + 1 end)
    assert.is_true(n > 3)
  end)

  it("batch: 10 runs, never more than 2 active, no 429 reaches the caller", function()
    local b = mock.start{ "--speed", "200", "--max-active", "2", "--api-key", KEY }
    local ok, err = pcall(function()
      local c = exa.new{ api_key = KEY, base_url = b.url }
      local list = {}
      for i = 1, 10 do list[i] = { query = "batch " .. i, effort = "low" } end
      local seen = {}
      local runs = c.runs:batch(list, { concurrency = 2, on_event = function(ev, i)
        seen[i] = (seen[i] or 0) + 1
      end })
      assert.equals(10, #runs)
      for i = 1, 10 do
        assert.equals("completed", runs[i].status)
        assert.equals("batch " .. i, runs[i].request.query, "input order")
        assert.is_true(seen[i] > 3)
      end
      local st = b:stats()
      assert.equals(10, st.runs, "each run exactly once")
      assert.is_true(st.peak_active_runs <= 2, "peak " .. st.peak_active_runs)
      -- the client's ledger saw every run batch made (its streams are counted)
      local sum = 0
      for i = 1, 10 do sum = sum + runs[i].costDollars.total end
      assert.equals(10, c:costs().runs)
      assert.is_true(math.abs(sum - c:costs().total) < 1e-9)
    end)
    b:stop()
    assert(ok, err)
  end)

  it("batch: another process holding the slots makes it wait, not fail", function()
    local b = mock.start{ "--speed", "200", "--max-active", "2", "--api-key", KEY }
    local ok, err = pcall(function()
      local other = exa.new{ api_key = KEY, base_url = b.url,
        headers = { ["X-Mock-Fault"] = "run-seconds=300" } } -- 1.5 s at --speed 200
      local held = other.runs:create{ query = "held by another process", effort = "low" }
      local c = exa.new{ api_key = KEY, base_url = b.url }
      local list = {}
      for i = 1, 4 do list[i] = { query = "queued " .. i, effort = "low" } end
      local runs, stats = c.runs:batch(list, { concurrency = 2 })
      for i = 1, 4 do assert.equals("completed", runs[i].status) end
      local st = b:stats()
      assert.is_true(st.concurrency_rejections > 0, "the limit was met")
      assert.equals(st.concurrency_rejections, stats.limited)
      assert.equals(5, st.runs, "each run exactly once")
      assert.is_true(st.peak_active_runs <= 2)
      assert.equals("completed", other.runs:wait(held.id).status)
    end)
    b:stop()
    assert(ok, err)
  end)
end)
