-- Review findings on exa.loop: lost wake-ups. Counts and states only, never times.
local exa = require "exa"
local core = require "exa.core"

describe("exa.loop{uv} sleep", function()
  local has_uv, uv = pcall(require, "luv")

  it("wakes a task whose libuv timer fired before the sleep was due", function()
    if not has_uv then return pending("luv not installed") end
    local loop = exa.loop{ uv = uv }
    local slept = 0
    local task = loop:spawn(function()
      for _ = 1, 3 do
        -- work in the callback leaves libuv's cached loop time behind the
        -- clock, so the sleep's uv timer falls due before the sleep does
        local t0 = core.monotime()
        while core.monotime() - t0 < 0.02 do end
        loop:sleep(0.005)
        slept = slept + 1
      end
    end)
    uv.run() -- returns once no handle is active: the task must be done by then
    assert.equals(3, slept)
    assert.is_true(task:done())
    assert.equals(0, #loop.timers)
  end)
end)
