-- 1,000 live streams in one Lua thread on the built-in loop: every one
-- completes with every event, and they really were open at once.
local exa = require "exa"
local mock = require "helpers.mock"

local each = require "helpers.each_event"

describe("exa.loop at scale", function()
  it("1,000 live streams spawned in one thread all complete with every event", function()
    local KEY = "sk-scale"
    -- each run lasts 4 s: long enough that all 1,000 are open together
    local srv = mock.start{ "--max-active", "5000", "--api-key", KEY }
    local ok, err = pcall(function()
      local loop = exa.loop()
      local c = exa.new{ api_key = KEY, base_url = srv.url, loop = loop,
        headers = { ["X-Mock-Fault"] = "run-seconds=4" } }
      local N = 1000
      local got = {}
      for i = 1, N do
        loop:spawn(function()
          local evs = {}
          each(c.runs:stream{ query = "scale " .. i, effort = "low" }, function(ev) evs[#evs + 1] = ev end)
          got[i] = evs
        end)
      end
      loop:run()
      local st = srv:stats()
      assert.is_true(st.peak_open_streams >= N * 0.9, "open at once: " .. st.peak_open_streams)
      local plain = exa.new{ api_key = KEY, base_url = srv.url }
      local lost = 0
      for i = 1, N do
        local evs = got[i]
        assert.equals("agent_run.completed", evs[#evs].event, "stream " .. i)
        local page = plain.runs:events(evs[1].data.id, { limit = 100 })
        if #page.data ~= #evs then lost = lost + 1 end
        for k, ev in ipairs(evs) do
          assert.equals(tostring(page.data[k].id), ev.id)
          assert.equals(page.data[k].event, ev.event)
        end
      end
      assert.equals(0, lost)
    end)
    srv:stop()
    assert(ok, err)
  end)
end)
