-- The run helpers against the simulator: exa.estimate, the budget,
-- client:costs(), exa.citations, exa.check_output, runs:stop, runs:run, and
-- the post-beta fields end to end.
local exa = require "exa"
local json = require "exa.wire.json"
local mock = require "helpers.mock"
local raises = require "helpers.raises"

local PEOPLE = { type = "object", required = { "people" }, properties = {
  people = { type = "array", maxItems = 4, items = { type = "object", required = { "name", "email" },
    properties = { name = { type = "string" }, email = { type = "string", format = "email" },
      mobile_phone = { type = "string" } } } } } }

describe("exa.estimate", function()
  it("prices each effort from the published table", function()
    local function est(effort) return exa.estimate{ query = "q", effort = effort } end
    assert.same({ 0.025, 0.025 }, { est("low").min_dollars, est("low").max_dollars })
    assert.same({ 0.1, 0.1 }, { est("medium").min_dollars, est("medium").max_dollars })
    assert.same({ 0.5, 0.5 }, { est("high").min_dollars, est("high").max_dollars })
    assert.same({ 1, 2 }, { est("xhigh").min_dollars, est("xhigh").max_dollars })
    assert.equal("auto", est(nil).effort)
    -- the beta API (the default) ignores budget: auto and max have no ceiling there
    assert.equal(math.huge, est(nil).max_dollars)
    assert.matches("beta API", est(nil).unbounded, 1, true)
    assert.equal(math.huge, est("max").max_dollars)
    local function pest(effort) return exa.estimate({ query = "q", effort = effort }, { api = "post-beta" }) end
    assert.equal(5, pest(nil).max_dollars)         -- auto: capped by the post-beta default $5
    assert.equal(20, pest("max").max_dollars)      -- max: default cap $20
    assert.equal(math.huge, pest("ultra").max_dollars) -- budget does not cap ultra
    assert.equal(math.huge, est("ultra").max_dollars) -- no published price
    assert.equal(math.huge, est("turbo").max_dollars) -- an effort this table does not know
  end)

  it("adds the worst case of contact enrichment, bounded by maxItems", function()
    local e = exa.estimate(exa.run("people"):effort("high"):schema(PEOPLE))
    assert.equal(4, e.emails)
    assert.equal(4, e.phone_numbers)
    assert.near(0.5 + 4 * 0.02 + 4 * 0.07, e.max_dollars, 1e-9)
    assert.equal(0.5, e.min_dollars)
    -- no maxItems: unbounded
    local open = json.decode(json.encode(PEOPLE))
    open.properties.people.maxItems = nil
    assert.equal(math.huge, exa.estimate{ query = "q", effort = "low", outputSchema = open }.max_dollars)
    -- a schema without contact fields adds nothing; $ref and anyOf are followed
    local refd = { type = "object", ["$defs"] = { c = { type = "array", maxItems = 2, items = {
      anyOf = { { type = "string", format = "email" }, { type = "null" } } } } },
      properties = { contacts = { ["$ref"] = "#/$defs/c" }, name = { type = "string" } } }
    assert.near(0.025 + 2 * 0.02, exa.estimate{ query = "q", effort = "low", outputSchema = refd }.max_dollars, 1e-9)
  end)

  it("a budget.maxCostDollars caps auto and max on the post-beta API only; data sources on an uncapped "
    .. "effort are unbounded", function()
    local pb = { api = "post-beta" }
    assert.equal(2, exa.estimate({ query = "q", effort = "max", budget = { maxCostDollars = 2 } }, pb).max_dollars)
    assert.equal(1.5, exa.estimate({ query = "q", budget = { maxCostDollars = 1.5 }, outputSchema = PEOPLE },
      pb).max_dollars)
    -- the beta API ignores budget.maxCostDollars: no bound
    assert.equal(math.huge, exa.estimate{ query = "q", budget = { maxCostDollars = 1.5 } }.max_dollars)
    assert.equal(math.huge, exa.estimate{ query = "q", effort = "low",
      dataSources = { { provider = "similarweb" } } }.max_dollars)
  end)

  it("checks params like create does", function()
    assert.equal("validation", raises(exa.estimate, { effort = "low" }).kind)
    assert.equal("validation", raises(exa.estimate, { query = "q", effort = 5 }).kind)
  end)
end)

describe("run helpers against the simulator", function()
  local srv, pb

  setup(function() srv, pb = mock.start_both{ "--speed", "400", "--max-active", "50" } end)
  teardown(function() mock.stop(srv, pb) end)

  local function client(o)
    o = o or {}
    o.api_key = o.api_key or "sk-helpers"
    o.base_url = o.base_url or srv.url
    return exa.new(o)
  end

  describe("budget", function()
    it("stops the third of three runs before its request is sent", function()
      local c = client{ budget = { max_dollars = 0.06 } }
      local before = srv:stats()
      local r1 = c.runs:create{ query = "first", effort = "low" }
      local n = 0
      for _ in c.runs:stream{ query = "second", effort = "low" } do n = n + 1 end
      assert.is_true(n > 3)
      local e = raises(c.runs.create, c.runs, { query = "third", effort = "low" })
      local after = srv:stats()
      assert.equal("budget", e.kind)
      assert.matches("may cost up to $0.0250", e.message, 1, true)
      assert.near(0.025, e.estimate.max_dollars, 1e-12)
      assert.equal(before.runs + 2, after.runs)
      assert.equal(before.requests + 3, after.requests) -- two creates and this stats call: the third never left
      -- the runs end: their cost replaces their hold, and the budget is still spent
      c.runs:wait(r1.id, { interval = 0.02 })
      local k = c:costs()
      assert.near(0.05, k.budget.spent, 1e-9)
      assert.near(0, k.budget.reserved, 1e-9)
      assert.equal("budget", raises(c.runs.stream, c.runs, { query = "fourth", effort = "low" }).kind)
      assert.equal("budget", raises(c.runs.run, c.runs, { query = "fifth", effort = "low" }).kind)
      assert.equal(after.runs, srv:stats().runs)
      c:close()
    end)

    it("a run that ends cheaper than its hold gives the difference back", function()
      local c = client{ budget = { max_dollars = 2 } }
      local wide = json.decode(json.encode(PEOPLE))
      wide.properties.people.maxItems = 10 -- the simulator makes 2 to 4
      local run = c.runs:create(exa.run("people"):effort("medium"):schema(wide))
      local held = c:costs().budget.reserved
      assert.near(0.1 + 10 * 0.09, held, 1e-9)
      run = c.runs:wait(run.id, { interval = 0.02 })
      local k = c:costs()
      assert.near(run.costDollars.total, k.budget.spent, 1e-9)
      assert.near(0, k.budget.reserved, 1e-9)
      assert.is_true(run.costDollars.total < held)
      c:close()
    end)

    it("a create the API rejects gives its hold back; a bad option is a validation error", function()
      local c = client{ budget = { max_dollars = 0.03 } }
      local e = raises(c.runs.create, c.runs, { query = "q", effort = "low", metadata = { n = "1" },
        outputSchema = { ["$ref"] = "#/nowhere" } })
      assert.equal("invalid_request", e.kind)
      assert.near(0, c:costs().budget.reserved, 1e-12)
      local r = c.runs:create{ query = "fits", effort = "low" } -- the whole budget is still there
      c.runs:cancel(r.id)
      assert.equal("validation", raises(exa.new, { api_key = "k", budget = { max_dollars = "5" } }).kind)
      assert.equal("validation", raises(exa.new, { api_key = "k", budget = { dollars = 5 } }).kind)
      c:close()
    end)

    it("a streamed create the API rejects gives its hold back too", function()
      local c = client{ budget = { max_dollars = 0.03 } }
      local s = c.runs:stream{ query = "q", effort = "low", outputSchema = { ["$ref"] = "#/nowhere" } }
      assert.is_true(c:costs().budget.reserved > 0) -- held from the stream's creation
      local e = raises(function() for _ in s do end end)
      assert.equal("invalid_request", e.kind)
      assert.near(0, c:costs().budget.reserved, 1e-12)
      c:close()
    end)
  end)

  it("costs() sums each terminal run once, however often it was fetched", function()
    local c = client{ api_key = "sk-costs" }
    local ids = {}
    for i = 1, 3 do ids[i] = c.runs:create{ query = "cost " .. i, effort = i == 3 and "medium" or "low" }.id end
    local streamed
    for ev in c.runs:stream(exa.run("streamed"):effort("high"):schema(PEOPLE)) do
      if ev.event == "agent_run.completed" then streamed = ev.data end
    end
    ids[4] = streamed.id
    local want, runs = 0, {}
    for _, id in ipairs(ids) do
      local run = c.runs:wait(id, { interval = 0.02 })
      runs[#runs + 1] = run
      want = want + run.costDollars.total
      c.runs:get(id)
      c.runs:get(id)
    end
    for _ in c.runs:iter{ limit = 2 } do end
    c.runs:list{ limit = 10 }
    for _ in c.runs:iter_events(ids[1]) do end
    for _ in c.runs:replay(ids[2]) do end
    c.runs:cancel(ids[3]) -- terminal already: the same run again
    local k = c:costs()
    assert.equal(4, k.runs)
    assert.near(want, k.total, 1e-9)
    local parts = 0
    for _, r in ipairs(runs) do parts = parts + r.costDollars.emails end
    assert.near(parts, k.emails, 1e-9)
    assert.near(k.agentCompute + k.search + k.emails + k.phoneNumbers, k.total, 1e-9)
    -- a run that is not terminal yet is not counted
    local slow = exa.new{ api_key = "sk-costs", base_url = srv.url, headers = { ["X-Mock-Fault"] = "run-seconds=3000" } }
    local r = slow.runs:create{ query = "still going" }
    c.runs:get(r.id)
    assert.equal(4, c:costs().runs)
    c.runs:cancel(r.id)
    assert.equal(5, c:costs().runs)
    slow:close()
    c:close()
  end)

  describe("citations and check_output", function()
    local run
    setup(function()
      local c = client()
      run = c.runs:run(exa.run("funding"):effort("low"):schema{ type = "object", required = { "companies" },
        properties = { companies = { type = "array", maxItems = 3, items = { type = "object",
          required = { "name", "sourceUrl" }, properties = { name = { type = "string" },
            sourceUrl = { type = "string", format = "uri" } } } } } }, { interval = 0.02 })
      c:close()
    end)

    it("citations: every entry, one field in either spelling, a subtree", function()
      local all = exa.citations(run)
      assert.equal(#run.output.grounding, #all)
      local a = exa.citations(run, "companies[0].sourceUrl")
      local b = exa.citations(run, "structured.companies[0].sourceUrl")
      assert.equal(1, #a)
      assert.same(a, b)
      assert.equal("structured.companies[0].sourceUrl", a[1].field)
      assert.matches("^https://", a[1].citations[1].url)
      local item = exa.citations(run, "companies[1]")
      assert.equal(2, #item) -- name and sourceUrl of item 1
      for _, g in ipairs(item) do assert.matches("^structured%.companies%[1%]%.", g.field) end
      assert.equal(0, #exa.citations(run, "nope"))
      assert.equal(#all, #exa.citations(run.output)) -- an output table works too
      assert.equal("validation", raises(exa.citations, "run").kind)
      assert.equal("validation", raises(exa.citations, run, "").kind)
    end)

    it("check_output: the simulator's output passes; a broken one lists every problem", function()
      assert.is_true(exa.check_output(run))
      local bad = json.decode(json.encode(run))
      bad.output.structured.companies[1].sourceUrl = "not a url"
      bad.output.structured.companies[2].name = nil
      bad.output.structured.companies[3] = nil
      bad.output.structured.extra = json.array{ 1, 2, 3, 4 }
      local ok, errs = exa.check_output(bad)
      assert.is_nil(ok)
      local got = {}
      for _, e in ipairs(errs) do got[#got + 1] = e.path end
      table.sort(got)
      assert.same({ "structured.companies[0].sourceUrl", "structured.companies[1].name" }, got)
      -- the paths are grounding's: the bad field's sources are one call away
      assert.equal(1, #exa.citations(bad, errs[1].path))
      -- an explicit schema; null where the API may put null
      local strict = { type = "object", additionalProperties = false, properties = { companies = { type = "array",
        maxItems = 1 } } }
      ok, errs = exa.check_output(run, strict)
      assert.is_nil(ok)
      assert.matches("more than maxItems 1", errs[1].message, 1, true)
      local nulls = json.decode(json.encode(run))
      nulls.output.structured.companies[1].name = json.null
      assert.is_nil((exa.check_output(nulls)))
      assert.is_true(exa.check_output(nulls, nil, { allow_null = true }))
      nulls.output.structured = json.null
      ok, errs = exa.check_output(nulls)
      assert.is_nil(ok)
      assert.equal("structured", errs[1].path)
      assert.is_true(exa.check_output{ request = { query = "no schema" }, output = { structured = json.null } })
      assert.equal("validation", raises(exa.check_output, run, { type = "object", required = "name" }).kind)
    end)
  end)

  describe("runs:run", function()
    it("returns the completed run", function()
      local c = client()
      local r = c.runs:run({ query = "done", effort = "low" }, { interval = 0.02 })
      assert.equal("completed", r.status)
      assert.equal(1, c:costs().runs)
      c:close()
    end)

    it("raises run_failed with the run", function()
      local c = client{ headers = { ["X-Mock-Fault"] = "run-fail" } }
      local e = raises(c.runs.run, c.runs, { query = "doomed" }, { interval = 0.02 })
      assert.equal("run_failed", e.kind)
      assert.equal("failed", e.run.status)
      assert.equal("error", e.run.stopReason)
      assert.matches(e.run.id, e.message, 1, true)
      c:close()
    end)

    it("raises run_cancelled with the run", function()
      local other = client()
      local c
      c = client{ headers = { ["X-Mock-Fault"] = "run-seconds=3000" }, sleep = function()
        -- the first poll's sleep: someone else cancels the run
        local page = other.runs:list{ limit = 1 }
        other.runs:cancel(page.data[1].id)
      end }
      local e = raises(c.runs.run, c.runs, { query = "cancel me" }, { interval = 0.02 })
      assert.equal("run_cancelled", e.kind)
      assert.equal("cancelled", e.run.status)
      other:close()
      c:close()
    end)

    it("checks its options before any request", function()
      local c = client()
      local before = srv:stats().requests
      assert.equal("validation", raises(c.runs.run, c.runs, { query = "q" }, { timeout = "soon" }).kind)
      assert.equal("validation", raises(c.runs.run, c.runs, { query = "q" }, { interval = 0 }).kind)
      assert.equal("validation", raises(c.runs.run, c.runs, { query = "" }).kind)
      assert.equal(before + 1, srv:stats().requests)
      c:close()
    end)
  end)

  describe("the post-beta API end to end", function()
    local function pclient(o)
      o = o or {}
      o.base_url = pb.url
      o.betas = {} -- the post-beta API needs no Exa-Beta
      return client(o)
    end

    it("runs:stop completes a running run early, stopReason stopped", function()
      local c = pclient()
      local run = c.runs:create{ query = "deep", effort = "ultra" }
      repeat run = c.runs:get(run.id) until run.status == "running"
      local stopped = c.runs:stop(run.id)
      assert.equal("completed", stopped.status)
      assert.equal("stopped", stopped.stopReason)
      assert.is_true(stopped.costDollars.total < 10) -- less than a whole ultra run
      assert.near(stopped.usage.agentComputeUnits * 0.0001, stopped.costDollars.agentCompute, 1e-9)
      assert.equal("completed", c.runs:stop(run.id).status) -- a terminal run stays as it is
      -- against the beta API the endpoint does not exist
      local b = client()
      local r = b.runs:create{ query = "beta" }
      assert.equal("not_found", raises(b.runs.stop, b.runs, r.id).kind)
      b:close()
      c:close()
    end)

    it("efforts minimal, max and ultra; budget and time limits end runs with their stop reasons", function()
      local c = pclient()
      local r = c.runs:run({ query = "tiny", effort = "minimal" }, { interval = 0.02 })
      assert.near(0.01, r.costDollars.total, 1e-9)
      r = c.runs:run({ query = "capped", effort = "max", budget = { maxCostDollars = 1 } }, { interval = 0.02 })
      assert.equal("budget_reached", r.stopReason)
      assert.is_true(r.costDollars.total <= 1)
      r = c.runs:run({ query = "short", effort = "high", budget = { maxDurationSeconds = 1 } }, { interval = 0.02 })
      assert.equal("time_limit_reached", r.stopReason)
      assert.is_true(r.costDollars.total < 0.5)
      for ev in c.runs:stream{ query = "ultra", effort = "ultra" } do
        if ev.event == "agent_run.completed" then r = ev.data end
      end
      assert.near(10, r.costDollars.total, 1e-9)
      c:close()
    end)

    it("dataSources: provider calls in events, usage and cost", function()
      local c = pclient()
      local traces = 0
      local run
      for ev in c.runs:stream{ query = "traffic", effort = "low", dataSources = { { provider = "similarweb" } } } do
        if ev.event == "agent_run.search_trace" and ev.data.tool == "similarweb" then traces = traces + 1 end
        if ev.event == "agent_run.completed" then run = ev.data end
      end
      assert.equal(2, traces)
      assert.equal(2, run.usage.dataSources.similarweb)
      assert.near(0.02, run.costDollars.dataSources.similarweb, 1e-9)
      assert.near(0.045, run.costDollars.total, 1e-9)
      assert.near(0.02, c:costs().dataSources.similarweb, 1e-9)
      local e = raises(c.runs.create, c.runs, { query = "q", dataSources = { { provider = "nobody" } } })
      assert.equal("INVALID_DATA_SOURCE", e.code)
      c:close()
    end)
  end)
end)
