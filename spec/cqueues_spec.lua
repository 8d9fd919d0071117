-- exa.loop{cqueues = cq}: streams progress on a cqueues controller beside
-- the controller's own coroutines (a 20 ms ticker), and a call outside a
-- task says it would block the host. Counts and order only.
local exa = require "exa"
local mock = require "helpers.mock"

local each = require "helpers.each_event"
local has_cq, cqueues = pcall(require, "cqueues")

describe("cqueues loop", function()
  local srv
  local KEY = "sk-cq-spec"
  setup(function() srv = mock.start{ "--max-active", "100", "--api-key", KEY } end)
  teardown(function() srv:stop() end)

  local function ticker(cq, state)
    cq:wrap(function()
      while state.on do
        cqueues.sleep(0.02)
        state.ticks = state.ticks + 1
      end
    end)
  end

  it("10 streams on a cqueues controller: every event, and its other coroutines keep running", function()
    assert(has_cq, "cqueues is not installed: apt-get install lua-cqueues")
    local now = require("exa.core").monotime
    -- idle: the ticker alone for 1 s
    local cq = cqueues.new()
    local idle = { on = true, ticks = 0 }
    ticker(cq, idle)
    local t0 = now()
    cq:wrap(function() cqueues.sleep(1); idle.on = false end)
    assert(cq:loop())
    local idle_rate = idle.ticks / (now() - t0)

    local loop = exa.loop{ cqueues = cq }
    local c = exa.new{ api_key = KEY, base_url = srv.url, loop = loop }
    local ok, e = pcall(c.runs.list, c.runs)
    assert.is_false(ok)
    assert.equals("loop", e.kind)
    local busy = { on = true, ticks = 0 }
    ticker(cq, busy)
    local t1 = now()
    local tasks = {}
    for i = 1, 10 do
      tasks[i] = loop:spawn(function()
        local evs = {}
        each(c.runs:stream{ query = "cq " .. i, effort = "low" }, function(ev) evs[#evs + 1] = ev end)
        return evs
      end)
    end
    loop:run()
    local busy_rate = busy.ticks / (now() - t1)
    busy.on = false
    assert(cq:loop())
    local plain = exa.new{ api_key = KEY, base_url = srv.url }
    for i = 1, 10 do
      local evs = tasks[i]:wait()
      assert.equals("agent_run.completed", evs[#evs].event)
      local stored = plain.runs:events(evs[1].data.id, { limit = 100 }).data
      assert.equals(#stored, #evs)
      for k, ev in ipairs(evs) do assert.equals(tostring(stored[k].id), ev.id) end
    end
    assert.is_true(busy_rate >= 0.8 * idle_rate,
      ("ticks per second: %.1f busy, %.1f idle"):format(busy_rate, idle_rate))
  end)
end)
