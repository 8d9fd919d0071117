-- The client's budget is a hard cap (exa.check_budget, the rule the CLI uses
-- too), on the beta API and on the post-beta API (exa.new{api = ...} against
-- the simulator's --api beta and --api post-beta): a run whose worst case the
-- client cannot bound on the API in use is refused before any request, with
-- the way out in the message; post-beta budget.maxCostDollars is checked
-- against $1-$100 before sending; a budget of 0 refuses every run.
local exa = require "exa"
local mock = require "helpers.mock"
local raises = require "helpers.raises"

describe("the budget rule (exa.check_budget)", function()
  it("beta: auto and max have no bound, whatever budget.maxCostDollars says", function()
    -- the issue's case: --budget 0.05 with the default effort sent maxCostDollars 0.05, which the beta API ignores
    for _, p in ipairs{ { query = "q" }, { query = "q", budget = { maxCostDollars = 0.05 } },
      { query = "q", effort = "max", budget = { maxCostDollars = 1 } }, { query = "q", effort = "ultra" } } do
      local e = raises(exa.check_budget, p, 100)
      assert.equal("budget", e.kind)
      assert.equal("BUDGET_EXCEEDED", e.code)
      assert.equal(math.huge, e.estimate.max_dollars)
      assert.matches("use a fixed effort (low $0.0250, medium $0.10, high $0.50, xhigh $2.00)", e.message, 1, true)
    end
    assert.matches("post-beta", raises(exa.check_budget, { query = "q" }, 100).message, 1, true)
    assert.equal(0.025, exa.check_budget({ query = "q", effort = "low" }, 0.05).max_dollars)
  end)

  it("post-beta: auto and max are bounded by maxCostDollars (default $5, $20); ultra is not", function()
    local pb = { api = "post-beta" }
    assert.equal(2, exa.check_budget({ query = "q", budget = { maxCostDollars = 2 } }, 3, pb).max_dollars)
    assert.equal(5, exa.check_budget({ query = "q" }, 5, pb).max_dollars)
    local e = raises(exa.check_budget, { query = "q" }, 3, pb)
    assert.equal("budget", e.kind)
    assert.matches("may cost up to $5.00", e.message, 1, true)
    assert.matches("budget.maxCostDollars at most $3.00", e.message, 1, true)
    assert.matches("a budget of at least $5.00", e.message, 1, true)
    e = raises(exa.check_budget, { query = "q", effort = "max" }, 10, pb)
    assert.matches("a budget of at least $20.00", e.message, 1, true)
    e = raises(exa.check_budget, { query = "q", effort = "ultra" }, 100, pb)
    assert.matches("use a fixed effort", e.message, 1, true)
    assert.matches("auto or max with a budget.maxCostDollars", e.message, 1, true)
  end)

  it("post-beta: maxCostDollars outside $1-$100 is a validation error", function()
    local pb = { api = "post-beta" }
    for _, m in ipairs{ 0, 0.05, 0.99, 100.5, -1 } do
      local e = raises(exa.check_budget, { query = "q", budget = { maxCostDollars = m } }, 1000, pb)
      assert.equal("validation", e.kind, tostring(e))
      assert.equal("budget.maxCostDollars", e.field)
    end
    -- beta accepts (and ignores) any non-negative amount
    assert.equal("budget", raises(exa.check_budget, { query = "q", budget = { maxCostDollars = 0.05 } }, 1).kind)
  end)

  it("a budget of 0 refuses every run", function()
    for _, api in ipairs{ "beta", "post-beta" } do
      for _, effort in ipairs{ "minimal", "low", "medium", "auto" } do
        local e = raises(exa.check_budget, { query = "q", effort = effort }, 0, { api = api })
        assert.equal("budget", e.kind)
      end
      assert.matches("a budget of $0 refuses every run",
        raises(exa.check_budget, { query = "q", effort = "low" }, 0, { api = api }).message, 1, true)
    end
  end)

  it("a bounded run that does not fit names a fixed effort that fits, or the budget it needs", function()
    local e = raises(exa.check_budget, { query = "q", effort = "high" }, 0.2)
    assert.matches("may cost up to $0.50", e.message, 1, true)
    assert.matches("a fixed effort that fits (low $0.0250, medium $0.10)", e.message, 1, true)
    assert.matches("a budget of at least $0.50", e.message, 1, true)
  end)

  it("data sources on a fixed effort: the way out is to drop them (or, post-beta, a capped effort)", function()
    local p = { query = "q", effort = "low", dataSources = { { provider = "linkedin" } } }
    local e = raises(exa.check_budget, p, 5)
    assert.matches("drop dataSources", e.message, 1, true)
    assert.not_matches("use a fixed effort", e.message, 1, true)
    e = raises(exa.check_budget, p, 5, { api = "post-beta" })
    assert.matches("drop dataSources, or use effort auto or max with a budget.maxCostDollars", e.message, 1, true)
  end)
end)

describe("the client's budget against the simulator", function()
  local beta, post

  setup(function() beta, post = mock.start_both{ "--speed", "400", "--max-active", "50" } end)
  teardown(function() mock.stop(beta, post) end)

  local function client(srv, o)
    o.api_key = "sk-budget"
    o.base_url = srv.url
    o.max_retries = 0
    return exa.new(o)
  end

  -- fn must raise kind (a string) and send no request to srv
  local function refused(srv, kind, fn, ...)
    local before = srv:stats().requests
    local e = raises(fn, ...)
    assert.equal(kind, e.kind, tostring(e))
    assert.equal(before + 1, srv:stats().requests) -- the stats call before: nothing else
    return e
  end

  it("beta (exa.new default): auto is refused under any budget; a fixed effort runs", function()
    local c = client(beta, { budget = { max_dollars = 10 } })
    assert.equal("beta", c.api)
    for _, m in ipairs{ "create", "stream", "run" } do
      local e = refused(beta, "budget", c.runs[m], c.runs, { query = "q", budget = { maxCostDollars = 0.05 } })
      assert.matches("use a fixed effort", e.message, 1, true)
    end
    refused(beta, "budget", c.runs.create, c.runs, { query = "q", effort = "max" })
    local run = c.runs:run({ query = "fits", effort = "low" }, { interval = 0.02 })
    assert.equal("completed", run.status)
    assert.near(run.costDollars.total, c:costs().budget.spent, 1e-9)
    c:close()
  end)

  it("beta: a budget of 0 refuses every run", function()
    local c = client(beta, { budget = { max_dollars = 0 } })
    for _, effort in ipairs{ "low", "medium", "high", "xhigh", "auto" } do
      local e = refused(beta, "budget", c.runs.create, c.runs, { query = "q", effort = effort })
      assert.matches("a budget of $0 refuses every run", e.message, 1, true)
    end
    c:close()
  end)

  it("post-beta: auto under its cap runs, and the API holds it to the cap", function()
    local c = client(post, { api = "post-beta", budget = { max_dollars = 3 } })
    local e = refused(post, "budget", c.runs.create, c.runs, { query = "q" }) -- default cap $5 > $3
    assert.matches("budget.maxCostDollars at most $3.00", e.message, 1, true)
    refused(post, "budget", c.runs.create, c.runs, { query = "q", effort = "ultra" })
    refused(post, "validation", c.runs.create, c.runs, { query = "q", budget = { maxCostDollars = 0.05 } })
    refused(post, "validation", c.runs.stream, c.runs, { query = "q", budget = { maxCostDollars = 101 } })
    local run = c.runs:run({ query = "capped", effort = "max", budget = { maxCostDollars = 1 } }, { interval = 0.02 })
    assert.is_true(run.costDollars.total <= 1)
    local k = c:costs().budget
    assert.near(run.costDollars.total, k.spent, 1e-9)
    assert.is_true(k.spent <= 3)
    c:close()
  end)

  it("post-beta: a budget of 0 refuses every run", function()
    local c = client(post, { api = "post-beta", budget = { max_dollars = 0 } })
    for _, p in ipairs{ { query = "q", effort = "minimal" }, { query = "q", budget = { maxCostDollars = 1 } } } do
      refused(post, "budget", c.runs.create, c.runs, p)
    end
    c:close()
  end)
end)
