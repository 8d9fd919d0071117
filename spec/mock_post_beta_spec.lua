-- The simulator's prices (the published table) and its post-beta API
-- (--api post-beta): /stop, budget, dataSources, the newer efforts, an
-- optional Exa-Beta; responses checked against the post-beta reference
-- page's schemas. The beta contract stays the default.
if _VERSION ~= "Lua 5.4" then return end -- the simulator and its specs are Lua 5.4 only

local mock = require "helpers.mock"
local json = require "exa.wire.json"
local schema = require "exa_mock.schema"
local lyaml = require "lyaml"

-- The OpenAPI block of ../shared/spec/exa-docs-create-a-run.md, verbatim: CI has only the repo.
local REF = mock.root .. "/spec/fixtures/exa-post-beta-create-a-run.yml"
local ref
do
  local f = assert(io.open(REF), "missing " .. REF)
  ref = json.decode(json.encode(lyaml.load(f:read("a"))))
  f:close()
  -- what the SDK (exa-js 2.23) has and the page does not list yet: the effort ultra, the stop
  -- reason time_limit_reached, budget.maxDurationSeconds
  local S = ref.components.schemas
  S.AgentEffort.enum[#S.AgentEffort.enum + 1] = "ultra"
  S.AgentStopReason.enum[#S.AgentStopReason.enum + 1] = "time_limit_reached"
  S.AgentBudgetOutput.properties.maxDurationSeconds = { type = "number" }
end

local function conform(value)
  local ok, err = schema.validate(ref.components.schemas.AgentRun, value, ref)
  assert(ok, "AgentRun (post-beta): " .. tostring(err))
end

-- costDollars is usage priced by the table: 1 ACU = $0.0001, $0.007 a search, ...
local function priced(run)
  local u, c = run.usage, run.costDollars
  assert.near(u.agentComputeUnits * 0.0001, c.agentCompute, 1e-9)
  assert.near(u.searches * 0.007, c.search, 1e-9)
  assert.near(u.emails * 0.02, c.emails, 1e-9)
  assert.near(u.phoneNumbers * 0.07, c.phoneNumbers, 1e-9)
  local ds = 0
  for p, n in pairs(u.dataSources or {}) do
    assert.near(n * 0.01, c.dataSources[p], 1e-9)
    ds = ds + c.dataSources[p]
  end
  assert.near(c.agentCompute + c.search + c.emails + c.phoneNumbers + ds, c.total, 1e-9)
end

local function post(srv, body, headers)
  return srv:curl { method = "POST", path = "/agent/runs", body = body,
    headers = headers or { "x-api-key: k", "Content-Type: application/json" } }
end

describe("exa-agent-mock prices", function()
  local srv
  setup(function() srv = mock.start { "--speed", "1000", "--max-active", "20" } end)
  teardown(function() srv:stop() end)

  it("an effort's typical run costs the spec README's figure, and its usage priced by the table", function()
    local want = { low = 0.025, medium = 0.10, auto = 0.10, high = 0.50, xhigh = 1.00 }
    for effort, dollars in pairs(want) do
      local _, _, run = srv:api("POST", "/agent/runs", '{"query":"price check","effort":"' .. effort .. '"}')
      run = srv:wait_run(run.id)
      assert.near(dollars, run.costDollars.total, 1e-9, effort)
      priced(run)
      assert.is_true(run.usage.agentComputeUnits > 50, effort) -- ACUs, not one or two units
    end
    -- xhigh: $0.10 more per input row, at most $2.00
    local _, _, run = srv:api("POST", "/agent/runs", '{"query":"rows","effort":"xhigh","input":{"data":'
      .. '[{"a":"1"},{"a":"2"},{"a":"3"}]}}')
    run = srv:wait_run(run.id)
    assert.near(1.30, run.costDollars.total, 1e-9)
    priced(run)
  end)

  it("beta (the default): newer efforts rejected, no /stop, budget accepted and ignored", function()
    for _, e in ipairs { "minimal", "max", "ultra" } do
      local st = srv:api("POST", "/agent/runs", '{"query":"q","effort":"' .. e .. '"}')
      assert.equal(400, st, e)
    end
    local _, _, run = srv:api("POST", "/agent/runs", '{"query":"q","effort":"auto","budget":{"maxCostDollars":0.01},'
      .. '"dataSources":[{"provider":"similarweb"}]}')
    local st = srv:api("POST", "/agent/runs/" .. run.id .. "/stop")
    assert.equal(404, st)
    run = srv:wait_run(run.id)
    assert.equal("schema_satisfied", run.stopReason)
    assert.near(0.10, run.costDollars.total, 1e-9)
    assert.is_nil(run.usage.dataSources)
    st = post(srv, '{"query":"q"}')
    assert.equal(400, st) -- MISSING_BETA_HEADER
  end)
end)

describe("exa-agent-mock --api post-beta", function()
  local srv
  setup(function() srv = mock.start { "--speed", "200", "--max-active", "20", "--api", "post-beta" } end)
  teardown(function() srv:stop() end)

  local function create(body)
    local st, _, b = post(srv, body)
    return st, json.decode(b)
  end
  local function wait(id) return srv:wait_run(id, { key = "k" }) end

  it("needs no Exa-Beta and takes every effort, each at its price", function()
    local want = { minimal = 0.01, low = 0.025, medium = 0.10, high = 0.50, xhigh = 1.00, auto = 0.10, max = 3.00,
      ultra = 10.00 }
    for effort, dollars in pairs(want) do
      local st, run = create('{"query":"post-beta","effort":"' .. effort .. '"}')
      assert.equal(200, st, effort)
      run = wait(run.id)
      conform(run)
      assert.equal("schema_satisfied", run.stopReason)
      assert.near(dollars, run.costDollars.total, 1e-9, effort)
      priced(run)
    end
  end)

  it("checks budget and dataSources", function()
    local cases = {
      { '{"query":"q","budget":{"maxCostDollars":0.5}}', "INVALID_REQUEST" },
      { '{"query":"q","budget":{"maxCostDollars":101}}', "INVALID_REQUEST" },
      { '{"query":"q","budget":{"maxDurationSeconds":0}}', "INVALID_REQUEST" },
      { '{"query":"q","budget":5}', "INVALID_REQUEST" },
      { '{"query":"q","dataSources":{"provider":"fiber"}}', "INVALID_REQUEST" },
      { '{"query":"q","dataSources":[{}]}', "INVALID_REQUEST" },
      { '{"query":"q","dataSources":[{"provider":"nobody"}]}', "INVALID_DATA_SOURCE" },
      { '{"query":"q","dataSources":[{"provider":"fiber"},{"provider":"jinko"},{"provider":"particle"},'
        .. '{"provider":"affiliate"},{"provider":"baselayer"},{"provider":"polymarket"}]}', "INVALID_REQUEST" },
    }
    for _, c in ipairs(cases) do
      local st, b = create(c[1])
      assert.equal(400, st, c[1])
      assert.equal(c[2], b.error.code, c[1])
      assert.equal("INVALID_REQUEST", b.error.type)
    end
  end)

  it("dataSources: each provider's tool calls in events, usage.dataSources and costDollars.dataSources", function()
    local st, run = create('{"query":"traffic","effort":"medium","dataSources":[{"provider":"similarweb"},'
      .. '{"provider":"fiber"}]}')
    assert.equal(200, st)
    run = wait(run.id)
    conform(run)
    priced(run)
    assert.same({ similarweb = 2, fiber = 2 }, run.usage.dataSources)
    assert.near(0.14, run.costDollars.total, 1e-9)
    local _, _, page = srv:api("GET", "/agent/runs/" .. run.id .. "/events?limit=100", nil, { key = "k" })
    local tools = {}
    for _, ev in ipairs(page.data) do
      if ev.event == "agent_run.search_trace" then tools[ev.data.tool] = (tools[ev.data.tool] or 0) + 1 end
    end
    assert.same({ web_search = 3, similarweb = 2, fiber = 2 }, tools)
  end)

  it("budget.maxCostDollars ends an auto or max run at the cap: budget_reached", function()
    local _, run = create('{"query":"big","effort":"max","budget":{"maxCostDollars":1}}')
    run = wait(run.id)
    conform(run)
    priced(run)
    assert.equal("completed", run.status)
    assert.equal("budget_reached", run.stopReason)
    assert.is_true(run.costDollars.total <= 1 and run.costDollars.total > 0.9, tostring(run.costDollars.total))
    -- the cap applies to auto and max only
    _, run = create('{"query":"small","effort":"high","budget":{"maxCostDollars":1}}')
    assert.equal("schema_satisfied", wait(run.id).stopReason)
  end)

  it("budget.maxDurationSeconds ends a run at the limit: time_limit_reached", function()
    local _, run = create('{"query":"slow","effort":"ultra","budget":{"maxDurationSeconds":2}}')
    run = wait(run.id)
    conform(run)
    priced(run)
    assert.equal("time_limit_reached", run.stopReason)
    assert.is_true(run.costDollars.total < 10 * 2 / 20 + 1e-9)
  end)

  it("POST /agent/runs/{id}/stop completes a running run with what it has: stopped", function()
    -- a run of 2,000 simulated s (10 s here): still running when the stop
    -- arrives, however slow the client (under valgrind an ultra run of 0.1 s
    -- ended by itself first, schema_satisfied)
    local st0, _, b = post(srv, '{"query":"deep","effort":"ultra"}',
      { "x-api-key: k", "Content-Type: application/json", "X-Mock-Fault: run-seconds=2000" })
    assert.equal(200, st0)
    local run = json.decode(b)
    repeat
      local _, _, r = srv:api("GET", "/agent/runs/" .. run.id, nil, { key = "k" })
      run = r
    until run.status == "running"
    local st, _, stopped = srv:api("POST", "/agent/runs/" .. run.id .. "/stop", nil, { key = "k" })
    assert.equal(200, st)
    conform(stopped)
    priced(stopped)
    assert.equal("completed", stopped.status)
    assert.equal("stopped", stopped.stopReason)
    assert.is_string(stopped.completedAt)
    assert.is_true(stopped.costDollars.total < 10)
    local _, _, page = srv:api("GET", "/agent/runs/" .. run.id .. "/events?limit=100", nil, { key = "k" })
    local last = page.data[#page.data]
    assert.equal("agent_run.completed", last.event)
    assert.equal("stopped", last.data.stopReason)
    -- a terminal run is left as it is; an unknown one is 404
    local _, _, again = srv:api("POST", "/agent/runs/" .. run.id .. "/stop", nil, { key = "k" })
    assert.same(stopped, again)
    st = srv:api("POST", "/agent/runs/agent_run_nope/stop", nil, { key = "k" })
    assert.equal(404, st)
    st = srv:api("GET", "/agent/runs/" .. run.id .. "/stop", nil, { key = "k" })
    assert.equal(405, st)
  end)
end)
