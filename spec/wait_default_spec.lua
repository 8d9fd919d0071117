-- runs:wait and runs:run give up after an hour by default (a run's own limit,
-- and the official SDKs' default for polling). Virtual time: the client's
-- sleep hook advances a clock the spec owns, so no test waits an hour (or any
-- real time); the simulator's run never ends (--speed 0.001).
local exa = require "exa"
local clock = require "exa.loop.clock"
local runs_mod = require "exa.runs"
local mock = require "helpers.mock"

describe("the default timeout of wait and run", function()
  local srv, client, now, real_now
  local slept = 0
  setup(function()
    srv = mock.start{ "--speed", "0.001" }
    real_now = clock.now
    clock.now = function() return now end
    client = exa.new{ api_key = "k", base_url = srv.url, max_retries = 0,
      sleep = function(s) now = now + s; slept = slept + 1 end }
  end)
  teardown(function()
    clock.now = real_now
    if client then client:close() end
    if srv then srv:stop() end
  end)
  before_each(function() now, slept = 1000, 0 end)

  it("is an hour", function()
    assert.equals(3600, runs_mod.DEFAULT_WAIT_TIMEOUT)
  end)

  it("wait without a timeout raises WAIT_TIMEOUT after 3600 s of (virtual) polling", function()
    local run = client.runs:create{ query = "never ends", effort = "low" }
    local ok, e = pcall(client.runs.wait, client.runs, run.id, { interval = 60 })
    assert.is_false(ok)
    assert.is_true(exa.is_error(e, "timeout"), tostring(e))
    assert.equals("WAIT_TIMEOUT", e.code)
    assert.matches("after 3600s", e.message, 1, true)
    assert.equals(run.id, e.run.id)
    assert.equals(1000 + 3600, now)
    assert.equals(60, slept) -- 60 intervals of 60 s
    client.runs:cancel(run.id)
  end)

  it("run without a timeout raises the same after an hour; a timeout given wins", function()
    local ok, e = pcall(client.runs.run, client.runs, { query = "never ends", effort = "low" }, { interval = 600 })
    assert.is_true(exa.is_error(e, "timeout"), tostring(e))
    assert.is_false(ok)
    assert.equals("WAIT_TIMEOUT", e.code)
    assert.equals(1000 + 3600, now)
    client.runs:cancel(e.run.id)
    now = 0
    ok, e = pcall(client.runs.run, client.runs, { query = "never ends", effort = "low" }, { timeout = 7200, interval = 600 })
    assert.is_true(exa.is_error(e, "timeout"), tostring(e))
    assert.matches("after 7200s", e.message, 1, true)
    assert.equals(7200, now)
    client.runs:cancel(e.run.id)
  end)
end)
