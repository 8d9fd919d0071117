-- A uv loop with a host wait (exa.loop{uv =, wait =}): what Neovim gets by
-- default with vim.wait, here on standalone luv with a wait function that
-- runs the uv loop the way vim.wait runs the editor's. Outside any task every
-- blocking point waits through that function, never in C; an interrupt
-- raises kind = "loop" and ends the transfer. Counts only.
local mock = require "helpers.mock"
local exa = require "exa"

local has_uv, uv = pcall(require, "luv")

-- vim.wait(ms, cond): run the host's events until cond() or ms passed;
-- true, or false and -1 (time) / -2 (interrupted).
-- A wake-up the host had to make itself (the 2 s cap ran out before anything
-- happened) counts in counter.stalls: the library failed to wake it.
local CAP = 2000
local function host_wait(counter)
  local timer = uv.new_timer() -- never block past the deadline
  counter.timer = timer
  counter.stalls = 0
  return function(ms, cond)
    counter.calls = counter.calls + 1
    if counter.interrupt then -- once: Ctrl-C during the first wait
      counter.interrupt = false
      return false, -2
    end
    uv.update_time()
    local deadline = uv.now() + ms
    while not cond() do
      uv.update_time()
      if uv.now() >= deadline then return false, -1 end
      local capped = deadline - uv.now() > CAP
      timer:start(capped and CAP or deadline - uv.now(), 0, function()
        if capped then counter.stalls = counter.stalls + 1 end
      end)
      uv.run("once")
      timer:stop()
    end
    return true
  end
end

-- close what the test opened and let libuv finish closing it: the client,
-- and the loop it was given (its pool's polls and curl's timer would stay
-- active on the default uv loop, and a later spec's uv.run() never return)
local function finish(c, counter, loop)
  c:close()
  loop:close()
  counter.timer:close()
  uv.run("nowait")
end

describe("exa.loop{uv =, wait =}: calls outside a task wait through the host", function()
  local srv
  setup(function() srv = mock.start{ "--max-active", "100", "--speed", "5" } end)
  teardown(function() srv:stop() end)

  it("a request, a stream, loop:sleep, task:wait and loop:run, none blocking in C", function()
    if not has_uv then return pending("luv not installed") end
    local counter = { calls = 0 }
    local loop = exa.loop{ uv = uv, wait = host_wait(counter) }
    local c = exa.new{ api_key = "k", base_url = srv.url, loop = loop }
    finally(function() finish(c, counter, loop) end)
    local created = c.runs:create{ query = "host wait", effort = "low" }
    local n, last = 0, nil
    for ev in c.runs:stream{ query = "host wait stream", effort = "low" } do n = n + 1; last = ev.event end
    assert.equals("agent_run.completed", last)
    assert.is_true(n > 3)
    local calls = counter.calls
    loop:sleep(0.01)
    assert.is_true(counter.calls > calls)
    local task = loop:spawn(function() return c.runs:wait(created.id, { interval = 0.05 }).status end)
    assert.equals("completed", task:wait())
    local done = 0
    for _ = 1, 3 do loop:spawn(function() c.runs:list{ limit = 1 }; done = done + 1 end) end
    loop:run()
    assert.equals(3, done)
    assert.equals(0, loop.m:stats().steps) -- every wait went through the host
    assert.is_true(counter.calls > calls + 2)
    assert.equals(0, counter.stalls)
  end)

  it("a task that ends inside a timer callback wakes the host at once", function()
    if not has_uv then return pending("luv not installed") end
    local counter = { calls = 0 }
    local loop = exa.loop{ uv = uv, wait = host_wait(counter) }
    local c = exa.new{ api_key = "k", base_url = srv.url, loop = loop }
    finally(function() finish(c, counter, loop) end)
    -- the task runs (and ends) in the loop's kick timer, before libuv polls
    for i = 1, 3 do
      assert.equals(i, loop:spawn(function() return i end):wait())
    end
    loop:spawn(function() end)
    loop:run()
    assert.equals(0, counter.stalls)
  end)

  it("an interrupt (vim.wait's -2) raises kind = \"loop\" and ends the transfer", function()
    if not has_uv then return pending("luv not installed") end
    local counter = { calls = 0, interrupt = true }
    local loop = exa.loop{ uv = uv, wait = host_wait(counter) }
    local c = exa.new{ api_key = "k", base_url = srv.url, loop = loop, max_retries = 0 }
    finally(function() finish(c, counter, loop) end)
    local ok, err = pcall(c.runs.list, c.runs)
    assert.is_false(ok)
    assert.is_true(exa.is_error(err, "loop"), tostring(err))
    assert.matches("interrupted", err.message)
    assert.equals(1, counter.calls)
    assert.equals(0, loop.m:count())
  end)

  it("wait = false raises outside a task; a bad wait is refused", function()
    if not has_uv then return pending("luv not installed") end
    local c = exa.new{ api_key = "k", base_url = srv.url, loop = exa.loop{ uv = uv, wait = false } }
    local ok, err = pcall(c.runs.list, c.runs)
    assert.is_false(ok)
    assert.matches("outside a task would block the uv loop", err.message, 1, true)
    for _, bad in ipairs{ { uv = uv, wait = 1 }, { wait = function() end } } do
      local ok2, e2 = pcall(exa.loop, bad)
      assert.is_false(ok2)
      assert.is_true(exa.is_error(e2, "validation"), tostring(e2))
      assert.equals("wait", e2.field)
    end
    c:close()
  end)
end)
