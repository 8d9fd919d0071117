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

describe("exa.loop{uv} run", function()
  local has_uv, uv = pcall(require, "luv")

  it("raises when its tasks wait for nothing, as the built-in loop does, instead of spinning", function()
    if not has_uv then return pending("luv not installed") end
    local loop = exa.loop{ uv = uv }
    local a, b
    a = loop:spawn(function() loop:sleep(0.001); return b:wait() end)
    b = loop:spawn(function() loop:sleep(0.001); return a:wait() end)
    -- a spinning run() never returns: stop it after a bound of VM instructions
    -- (LuaJIT calls count hooks only in the interpreter: no traces meanwhile)
    local jit_on = jit and jit.status()
    if jit_on then jit.off(); jit.flush() end
    local co = coroutine.create(function() return loop:run() end)
    debug.sethook(co, function() error("run() spins: still looping after 2e8 instructions", 0) end, "", 2e8)
    local ok, e = coroutine.resume(co)
    if jit_on then jit.on() end
    assert.is_false(ok)
    assert.is_true(exa.is_error(e, "loop"), tostring(e))
    assert.truthy(tostring(e.message):find("2 task(s) wait for nothing", 1, true), tostring(e.message))
    loop:close()
  end)
end)

describe("exa.loop (built-in) with the simulator", function()
  local mock = require "helpers.mock"
  local srv
  local KEY = "sk-review-loop"
  setup(function() srv = mock.start{ "--api-key", KEY } end)
  teardown(function() srv:stop() end)

  it("wakes a task waiting on a stream that another task closes", function()
    local loop = exa.loop()
    -- the run takes 30 s: after its first events the stream goes quiet
    local c = exa.new{ api_key = KEY, base_url = srv.url, loop = loop,
      headers = { ["X-Mock-Fault"] = "run-seconds=30" } }
    local s, got = nil, 0
    local reader = loop:spawn(function()
      s = c.runs:stream{ query = "closed under a waiting task", effort = "low" }
      assert.is_table(s:next())
      got = 1
      loop:spawn(function() s:close() end)
      while s:next() do got = got + 1 end -- waits on the transfer when the closer runs
      return "ended"
    end)
    -- before: kind = "loop", "1 task(s) wait for nothing" (on uv: a silent hang)
    local ok, e = pcall(loop.run, loop)
    if not ok then assert.equals("closed", e.kind, tostring(e)) end
    assert.is_true(reader:done())
    ok, e = pcall(reader.wait, reader)
    if not ok then assert.equals("closed", e.kind, tostring(e)) end
    assert.is_true(got >= 1)
  end)

  it("wakes a task of the client's own loop waiting when the client is closed", function()
    local c = exa.new{ api_key = KEY, base_url = srv.url,
      headers = { ["X-Mock-Fault"] = "run-seconds=30" } }
    local loop = c.loop
    local got = 0
    local reader = loop:spawn(function()
      local s = c.runs:stream{ query = "client closed under a waiting task", effort = "low" }
      assert.is_table(s:next())
      got = 1
      loop:spawn(function() c:close() end)
      while s:next() do got = got + 1 end
      return "ended"
    end)
    local ok, e = pcall(loop.run, loop)
    if not ok then assert.equals("closed", e.kind, tostring(e)) end
    assert.is_true(reader:done())
    ok, e = pcall(reader.wait, reader)
    if not ok then assert.equals("closed", e.kind, tostring(e)) end
  end)
end)

describe("exa.loop{on_error} that raises", function()
  it("loses no other runnable task", function()
    local loop = exa.loop{ on_error = function(e) error(e, 0) end }
    loop:spawn(function() error({ kind = "boom" }, 0) end)
    local b = loop:spawn(function() return "b ran" end)
    local ok, e = pcall(loop.run, loop)
    assert.is_false(ok)
    assert.equals("boom", e.kind)
    ok, e = pcall(loop.run, loop) -- raises boom again: no task:wait() has seen it
    if not ok then assert.equals("boom", e.kind) end
    -- before: kind = "loop", "1 task(s) wait for nothing": b was dropped
    assert.equals("b ran", b:wait())
  end)
end)

-- loop:close(): a host loop's handles are released, and a task waiting on a
-- transfer gets a closed error instead of waiting forever.
describe("loop:close()", function()
  local has_luv, uv = pcall(require, "luv")
  local mock = require "helpers.mock"
  local each = require "helpers.each_event"

  it("ends the loop's transfers with closed errors and closes every uv handle it made", function()
    assert(has_luv, "luv is not installed: apt-get install lua-luv")
    local srv = mock.start{ "--speed", "100", "--api-key", "sk-close" }
    local ok, err = pcall(function()
      -- handles other loops of this process left on uv's default loop
      local function open_handles()
        local n, kinds = 0, {}
        uv.walk(function(h)
          if not h:is_closing() then n = n + 1; kinds[#kinds + 1] = tostring(h) end
        end)
        return n, table.concat(kinds, ", ")
      end
      local before = open_handles()
      local loop = exa.loop{ uv = uv }
      local c = exa.new{ api_key = "sk-close", base_url = srv.url, loop = loop,
        headers = { ["X-Mock-Fault"] = "run-seconds=3000" } } -- 30 s: still going when closed
      local got, failure = 0, nil
      local reader = loop:spawn(function()
        -- exa.pcall: a task on PUC 5.1 cannot yield through the native pcall
        local okr, e = require("exa.loop.pcall").pcall(each, c.runs:stream{ query = "closed under me", effort = "low" },
          function(ev)
            got = got + 1
            if got == 2 then loop:spawn(function() loop:close() end) end
          end)
        if not okr then failure = e end
      end)
      loop:run()
      assert.is_true(reader:done())
      assert.equals(2, got)
      assert.is_true(exa.is_error(failure, "closed"), tostring(failure))
      -- the tasks that ran after the close made a new kick timer: a last close
      -- (nothing running) releases it too
      loop:close()
      local after, kinds = open_handles()
      assert.equals(before, after, "uv handles left open: " .. kinds)
    end)
    srv:stop()
    assert(ok, err)
  end)
end)

describe("loop:step on a host loop", function()
  -- loop.lua ran the built-in turn on every driver; the split into one file
  -- a driver kept step in the built-in driver only, so a uv or cqueues loop
  -- raised "attempt to call a nil value (field 'step')"
  local has_uv, uv = pcall(require, "luv")
  local has_cq, cqueues = pcall(require, "cqueues")

  it("takes one built-in turn, as before the drivers had files of their own", function()
    if not has_uv and not has_cq then return pending("neither luv nor cqueues installed") end
    local loops = {}
    if has_uv then loops[#loops + 1] = exa.loop{ uv = uv } end
    if has_cq then loops[#loops + 1] = exa.loop{ cqueues = cqueues.new() } end
    for _, loop in ipairs(loops) do
      loop:step(0)
      assert.equals(1, loop.ticks, tostring(loop))
      loop:close()
    end
  end)
end)
