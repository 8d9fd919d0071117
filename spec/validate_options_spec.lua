-- Every public call checks its option tables like exa.new does: a misspelled
-- key is a validation error naming the nearest known key (or the argument the
-- key belongs in), before any request. The client points at a port nothing
-- listens on, so a request would fail with kind "connect": kind "validation"
-- proves nothing was sent. Then the same against the simulator, counting
-- requests, and the names that still pass through to the API.
local exa = require "exa"
local validate = require "exa.validate"
local mock = require "helpers.mock"

local NOWHERE = "http://127.0.0.1:9"
local client = exa.new{ api_key = "sk-options", base_url = NOWHERE, max_retries = 0 }
local runs = client.runs

local function escape(s) return (s:gsub("%p", "%%%0")) end

-- fn(...) must raise a validation error on field whose message says `says`.
local function misspelled(field, says, fn, ...)
  local ok, e = pcall(fn, ...)
  assert.is_false(ok, "expected a validation error for " .. field)
  assert.is_true(exa.is_error(e), "not an error object: " .. tostring(e))
  assert.equals("validation", e.kind, tostring(e))
  assert.equals(field, e.field, tostring(e))
  assert.matches(escape(says), e.message)
  return e
end

local ID = "agent_run_1"

describe("a misspelled option is a validation error naming the nearest one", function()
  it("exa.new, its budget, exa.loop", function()
    misspelled("retries", "did you mean max_retries?", exa.new, { api_key = "k", retries = 3 })
    misspelled("base_ulr", "did you mean base_url?", exa.new, { api_key = "k", base_ulr = NOWHERE })
    misspelled("api_kye", "did you mean api_key?", exa.new, { api_key = "k", api_kye = "k" })
    misspelled("budget.max_dollar", "did you mean budget.max_dollars?", exa.new,
      { api_key = "k", budget = { max_dollar = 1 } })
    misspelled("budget.maxCostDollars", "exa.new's budget takes max_dollars", exa.new,
      { api_key = "k", budget = { maxCostDollars = 1 } })
    misspelled("apii", "did you mean api?", exa.new, { api_key = "k", apii = "beta" })
    misspelled("api", "api must be", exa.new, { api_key = "k", api = "v2" })
    misspelled("cqueue", "did you mean cqueues?", exa.loop, { cqueue = {} })
    misspelled("on_eror", "did you mean on_error?", exa.loop, { on_eror = print })
  end)

  it("runs:create and runs:stream: options and params", function()
    for _, m in ipairs{ "create", "stream" } do
      misspelled("options.markr", "did you mean options.marker?", runs[m], runs, { query = "q" }, { markr = false })
      misspelled("options.headrs", "did you mean options.headers?", runs[m], runs, { query = "q" }, { headrs = {} })
      -- the builder's and the CLI's name for outputSchema
      misspelled("schema", "did you mean outputSchema?", runs[m], runs, { query = "q", schema = { type = "object" } })
      misspelled("system", "did you mean systemPrompt?", runs[m], runs, { query = "q", system = "be brief" })
      misspelled("previous", "did you mean previousRunId?", runs[m], runs, { query = "q", previous = ID })
      misspelled("data", "did you mean input = {data = ...}?", runs[m], runs, { query = "q", data = {} })
      misspelled("efort", "did you mean effort?", runs[m], runs, { query = "q", efort = "low" })
      misspelled("outputSchem", "did you mean outputSchema?", runs[m], runs, { query = "q", outputSchem = {} })
      misspelled("budget.maxCostDollar", "did you mean budget.maxCostDollars?", runs[m], runs,
        { query = "q", budget = { maxCostDollar = 2 } })
      -- a per-call option among the params goes where it belongs
      misspelled("headers", "per-call option", runs[m], runs, { query = "q", headers = { ["X-A"] = "1" } })
      -- the hint names the call the user made too, not only stream and run
      misspelled("headers", "runs:create(params, {headers = ...})", runs[m], runs,
        { query = "q", headers = { ["X-A"] = "1" } })
      misspelled("timeout", "wait option", runs[m], runs, { query = "q", timeout = 5 })
    end
    misspelled("options.resume", "(it takes headers, timeout, max_retries, marker)", runs.create, runs,
      { query = "q" }, { resume = false })
    misspelled("options.resum", "did you mean options.resume?", runs.stream, runs, { query = "q" }, { resum = false })
  end)

  it("runs:get, cancel, delete, stop", function()
    for _, m in ipairs{ "get", "cancel", "delete", "stop" } do
      local e = misspelled("options.headrs", "did you mean options.headers?", runs[m], runs, ID,
        { headrs = { ["X-A"] = "1" } })
      assert.matches("runs:" .. m .. "'s options", e.message, 1, true)
      misspelled("options.timout", "did you mean options.timeout?", runs[m], runs, ID, { timout = 1 })
      misspelled("options.max_retry", "did you mean options.max_retries?", runs[m], runs, ID, { max_retry = 1 })
    end
  end)

  it("runs:list, iter, events, iter_events: params and options", function()
    misspelled("limt", "did you mean limit?", runs.list, runs, { limt = 5 })
    misspelled("limt", "did you mean limit?", runs.iter, runs, { limt = 5 })
    misspelled("cursr", "did you mean cursor?", runs.list, runs, { cursr = "c" })
    misspelled("limt", "did you mean limit?", runs.events, runs, ID, { limt = 5 })
    misspelled("Limit", "did you mean limit?", runs.iter_events, runs, ID, { Limit = 5 })
    misspelled("options.limit", "it is a list parameter, in the first table", runs.list, runs, nil, { limit = 5 })
    misspelled("timeout", "per-call option", runs.list, runs, { timeout = 5 })
    for _, m in ipairs{ "list", "iter" } do
      misspelled("options.headrs", "did you mean options.headers?", runs[m], runs, nil, { headrs = {} })
    end
    for _, m in ipairs{ "events", "iter_events" } do
      misspelled("options.headrs", "did you mean options.headers?", runs[m], runs, ID, nil, { headrs = {} })
    end
  end)

  it("runs:replay: params and options", function()
    misspelled("last_event", "did you mean last_event_id?", runs.replay, runs, ID, { last_event = 3 })
    misspelled("options.resum", "did you mean options.resume?", runs.replay, runs, ID, nil, { resum = false })
    misspelled("headers", "per-call option", runs.replay, runs, ID, { headers = {} })
  end)

  it("runs:wait: its second table and its options", function()
    misspelled("timout", "did you mean timeout?", runs.wait, runs, ID, { timout = 0.1 })
    misspelled("intervl", "did you mean interval?", runs.wait, runs, ID, { intervl = 0.1 })
    misspelled("headers", "belongs in runs:wait's third table", runs.wait, runs, ID, { headers = {} })
    misspelled("options.headrs", "did you mean options.headers?", runs.wait, runs, ID, nil, { headrs = {} })
    misspelled("options.interval", "it is a wait option", runs.wait, runs, ID, nil, { interval = 1 })
  end)

  it("runs:run: headers belong in its third table", function()
    local e = misspelled("headers", "belongs in runs:run's third table", runs.run, runs, { query = "q" },
      { headers = { ["X-A"] = "1" } })
    assert.matches("runs:run(params, {timeout =, interval =}, {headers =", e.message, 1, true)
    misspelled("timout", "did you mean timeout?", runs.run, runs, { query = "q" }, { timout = 1 })
    misspelled("options.markr", "did you mean options.marker?", runs.run, runs, { query = "q" }, nil, { markr = 1 })
    misspelled("schema", "did you mean outputSchema?", runs.run, runs, { query = "q", schema = {} })
  end)

  it("runs:batch and runs:find_marker", function()
    misspelled("options.concurency", "did you mean options.concurrency?", runs.batch, runs, { { query = "q" } },
      { concurency = 2 })
    misspelled("options.on_evnt", "did you mean options.on_event?", runs.batch, runs, { { query = "q" } },
      { on_evnt = print })
    misspelled("options.headrs", "did you mean options.headers?", runs.find_marker, runs, "m", { headrs = {} })
  end)

  it("the builder: a misspelled method or field name", function()
    misspelled("efort", "did you mean effort?", function() return exa.run("q"):efort("low") end)
    misspelled("shema", "did you mean schema?", function() return exa.run("q"):shema({}) end)
    misspelled("schema", "did you mean outputSchema?", function() return exa.run("q"):set("schema", {}) end)
    misspelled("outputSchma", "did you mean outputSchema?",
      function() return exa.run("q"):set("outputSchma", {}) end)
    -- a field newer than this library still goes through set
    assert.equals(2, exa.run("q"):set("brandNewField", 2):params().brandNewField)
  end)

  it("exa.estimate, exa.check_budget, exa.check_output, exa.schema.errors, client:costs", function()
    misspelled("apii", "did you mean api?", exa.estimate, { query = "q" }, { apii = "beta" })
    misspelled("schema", "did you mean outputSchema?", exa.estimate, { query = "q", schema = {} })
    misspelled("spnt", "did you mean spent?", exa.check_budget, { query = "q", effort = "low" }, 1, { spnt = 0 })
    local run = { output = { structured = { a = 1 } }, request = { outputSchema = { type = "object" } } }
    misspelled("allownull", "did you mean allow_null?", exa.check_output, run, nil, { allownull = true })
    misspelled("allow_nul", "did you mean allow_null?", exa.schema.errors, { type = "object" }, {},
      { allow_nul = true })
    misspelled("options", "takes no options", client.costs, client, { all = true })
  end)

  it("a key no name is near lists what the table takes", function()
    local e = misspelled("zzz", "it takes timeout, interval", runs.wait, runs, ID, { zzz = 1 })
    assert.is_nil(e.message:find("did you mean", 1, true))
  end)
end)

describe("what still passes", function()
  it("known options, and API fields no known name is near", function()
    assert.same({}, validate.options(nil, "get"))
    local o = { headers = {}, timeout = 1, max_retries = 0 }
    assert.equals(o, validate.call_options(o, "get"))
    assert.is_nil(validate.near("queries", validate.CREATE_FIELDS))
    assert.is_nil(validate.near("budgetCap", validate.CREATE_FIELDS))
    assert.equals("outputSchema", validate.near("output_schema", validate.CREATE_FIELDS))
    assert.equals("effort", validate.near("effrot", validate.CREATE_FIELDS)) -- a swap is one edit
    assert.equals(1, validate.distance("limt", "limit"))
  end)

  it("a known field name with more after it: a field the API may add, passed through", function()
    for _, name in ipairs{ "previousRunIds", "outputSchemaId", "budgetId", "queryId" } do
      assert.equals(name, validate.create_field_name(name))
    end
    -- a slip of the same length is still refused
    assert.has_error(function() validate.create_field_name("previousRunID") end)
  end)
end)

describe("against the simulator", function()
  local srv, c

  setup(function()
    srv = mock.start{ "--speed", "400", "--max-active", "50" }
    c = exa.new{ api_key = "sk-options-mock", base_url = srv.url, max_retries = 0 }
  end)
  teardown(function()
    if c then c:close() end
    if srv then srv:stop() end
  end)

  it("a misspelled option sends nothing; an unknown list parameter is sent", function()
    local before = srv:stats().requests
    local calls = {
      function() return c.runs:list{ limt = 5 } end,
      function() return c.runs:wait("agent_run_x", { timout = 0.1 }) end,
      function() return c.runs:get("agent_run_x", { headrs = { ["X-A"] = "1" } }) end,
      function() return c.runs:run({ query = "q", effort = "low" }, { headers = { ["X-A"] = "1" } }) end,
      function() return c.runs:create{ query = "q", effort = "low", schema = { type = "object" } } end,
    }
    for i, f in ipairs(calls) do
      local ok, e = pcall(f)
      assert.is_false(ok, "call " .. i)
      assert.is_true(exa.is_error(e, "validation"), tostring(e))
    end
    assert.equals(before + 1, srv:stats().requests) -- the first stats call itself
    -- the list endpoint may grow filters: a name near no known one goes out as a query parameter
    local page = c.runs:list{ limit = 2, status = "running" }
    assert.is_table(page.data)
  end)
end)
