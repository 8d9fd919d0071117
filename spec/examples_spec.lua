-- Every workflow example runs, as a user would run it (a subprocess under the
-- Lua of this pass, EXA_API_KEY and EXA_BASE_URL pointing at a simulator),
-- and prints what its header promises.
local mock = require "helpers.mock"

local LUA = { ["5.1"] = "lua5.1", ["5.2"] = "lua5.2", ["5.3"] = "lua5.3", ["5.4"] = "lua5.4", jit = "luajit" }
local TAG = os.getenv("EXA_TEST_LUA_TAG") or "5.4"
local KEY = "sk-examples"

-- Run examples/<name>.lua against srv; returns stdout .. "exit=N", and stderr.
local function run(srv, name, args)
  local errf = os.tmpname()
  local cmd = ("cd %s && EXA_API_KEY=%s EXA_BASE_URL=%s %s examples/%s.lua %s 2>%s; echo \"exit=$?\"")
    :format(mock.quote(mock.root), KEY, mock.quote(srv.url), LUA[TAG], name, args or "", mock.quote(errf))
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  local f = assert(io.open(errf))
  local err = f:read("*a")
  f:close()
  os.remove(errf)
  return out, err
end

describe("examples", function()
  local srv
  setup(function() srv = mock.start{ "--speed", "200", "--api-key", KEY } end)
  teardown(function() srv:stop() end)

  it("concurrent.lua: six runs through runs:batch, in input order, each once, never more than two active", function()
    local b = mock.start{ "--speed", "200", "--api-key", KEY, "--max-active", "2" }
    local ok, e = pcall(function()
      local before = b:stats()
      local out, err = run(b, "concurrent")
      assert.matches("exit=0\n$", out)
      for i = 1, 6 do
        assert.matches("\n?" .. i .. "%. [^\n]+: completed, %d+ events, ", out)
      end
      assert.matches("\n6 runs, at most 2 at once, %d+ waits for a slot, total %$%d+%.%d+\n", out)
      assert.matches("%[1%] agent_run.created\n", err)
      local st = b:stats()
      assert.equal(before.runs + 6, st.runs, "each run once")
      assert.is_true(st.peak_active_runs <= 2)
    end)
    b:stop()
    assert(ok, e)
  end)

  it("structured_output.lua: a table shaped by the schema, a source per field, the cost", function()
    local out, err = run(srv, "structured_output")
    assert.equal("", err)
    assert.matches("exit=0\n$", out)
    assert.matches("^run agent_run_%w+ is queued\n", out)
    local n = tonumber(out:match("\n(%d+) companies:\n"))
    assert.is_true(n >= 1 and n <= 3, out) -- maxItems = 3
    local rows = 0
    for _ in out:gmatch("\n%d+%. [^\n]+ %([^)]+%) <https?://[^>]+>\n   source: https?://") do rows = rows + 1 end
    assert.equal(n, rows, out)
    assert.matches("\ncost: %$%d+%.%d%d%d%d\n", out)
  end)

  it("enrichment.lua: each row enriched in order, the excluded row left out", function()
    local out, err = run(srv, "enrichment")
    assert.equal("", err)
    assert.matches("exit=0\n$", out)
    assert.matches("^run agent_run_%w+: %d+ events, 2 of 3 rows enriched\n", out)
    assert.matches("\nApple%s+CEO %S[^\n]+<https?://[^>]+>\nMicrosoft%s+CEO %S[^\n]+<https?://[^>]+>\n", out)
    assert.matches("\nZed Industries%s+excluded\n", out)
    assert.is_nil(out:find("came back", 1, true))
  end)

  it("follow_up.lua: the second run continues the first", function()
    local out, err = run(srv, "follow_up")
    assert.equal("", err)
    assert.matches("exit=0\n$", out)
    local first = out:match("^first run:  (agent_run_%w+)\n")
    assert.is_string(first, out)
    assert.matches("\nfollow%-up:  agent_run_%w+ %(previousRunId " .. first .. "%)\n", out)
    -- and a follow-up of a run that does not exist says so
    out, err = run(srv, "follow_up", "--previous agent_run_nosuchrun")
    assert.matches("exit=1\n$", out)
    assert.equal("no run agent_run_nosuchrun to follow up on (PREVIOUS_RUN_NOT_FOUND)\n", err)
  end)

  it("many_runs.lua: five runs from one thread, never more than two active, in input order", function()
    local out, err = run(srv, "many_runs")
    assert.equal("", err)
    assert.matches("exit=0\n$", out)
    for i = 1, 5 do
      assert.matches("\n?" .. i .. "%. [^\n]+\n   agent_run_%w+ completed, %d+ events\n", out)
    end
    assert.matches("\n5 runs, at most 2 active at once, 0 creates refused by the concurrency limit\n", out)
  end)

  it("cost_control.lua: stops before the budget would pass, and the API's record agrees", function()
    local out, err = run(srv, "cost_control", "--budget 0.0375")
    assert.equal("", err)
    assert.matches("exit=0\n$", out)
    local cost = out:match("^run 1: agent_run_%w+ completed, %$(%d+%.%d+) %(agent compute")
    assert.is_string(cost, out)
    assert.matches("\nbudget: not starting run 2: %$" .. cost:gsub("%.", "%%.") .. " spent", out)
    assert.matches("\nspent: %$" .. cost:gsub("%.", "%%.") .. " of a %$0%.0375 budget; the API's record for tag "
      .. "cost%-control%-[%d-]+: 1 runs, %$" .. cost:gsub("%.", "%%.") .. "\n", out)
  end)

  describe("against a slow simulator", function()
    local slow
    setup(function() slow = mock.start{ "--speed", "2", "--api-key", KEY } end)
    teardown(function() slow:stop() end)

    it("many_runs.lua: a create refused by the concurrency limit goes back in the queue", function()
      -- three workers, two slots: the third create gets 429 CONCURRENCY_LIMIT_REACHED
      local out, err = run(slow, "many_runs", "3")
      assert.equal("", err)
      assert.matches("exit=0\n$", out)
      local done = 0
      for _ in out:gmatch("agent_run_%w+ completed, %d+ events\n") do done = done + 1 end
      assert.equal(5, done)
      local refused = tonumber(out:match("at most 2 active at once, (%d+) creates refused"))
      assert.is_true(refused and refused >= 1, out)
    end)
  end)

  describe("against a very slow simulator", function()
    local slow
    setup(function() slow = mock.start{ "--speed", "0.1", "--api-key", KEY } end)
    teardown(function() slow:stop() end)

    it("cost_control.lua: cancels each run that outlives --max-seconds", function()
      -- a low run takes 20 s here; the script waits 0.2 s for each
      local out, err = run(slow, "cost_control", "--budget 1 --max-seconds 0.2")
      assert.equal("", err)
      assert.matches("exit=0\n$", out)
      for i = 1, 5 do
        assert.matches("\nrun " .. i .. ": agent_run_%w+ still running after 0%.2s: cancelled\nrun " .. i
          .. ": agent_run_%w+ cancelled, ", "\n" .. out)
      end
      assert.matches(": 5 runs, %$[%d.]+\n", out)
    end)
  end)

  it("every example is run by a spec", function()
    local specs = {}
    local p = assert(io.popen("cd " .. mock.quote(mock.root) .. " && cat spec/*_spec.lua"))
    local all = p:read("*a")
    p:close()
    p = assert(io.popen("cd " .. mock.quote(mock.root) .. " && ls examples/*.lua"))
    local missing = {}
    for path in p:lines() do
      local name = path:match("^examples/(.-)%.lua$")
      -- by path (examples/x.lua) or, here, by the name run() takes
      if not all:find(path, 1, true) and not all:find('run%([%w_]+, "' .. name .. '"') then
        missing[#missing + 1] = path
      end
      specs[#specs + 1] = name
    end
    p:close()
    assert.is_true(#specs >= 6)
    assert.same({}, missing)
  end)
end)
