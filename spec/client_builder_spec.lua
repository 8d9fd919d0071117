-- exa.run(...) builders: sugar producing the plain params table.
local exa = require "exa"
local json = require "exa.wire.json"

describe("exa.run builder", function()
  it("produces the API's own field names", function()
    local schema = { type = "object", properties = { a = { type = "string" } } }
    local p = exa.run("find things"):effort("low"):schema(schema):system("be brief")
      :metadata{ user = "u1" }:previous("agent_run_1"):data{ { company = "Apple" } }
      :exclude{ { company = "IBM" } }:set("budget", { maxCostDollars = 1 }):params()
    assert.same({
      query = "find things", effort = "low", outputSchema = schema, systemPrompt = "be brief",
      metadata = { user = "u1" }, previousRunId = "agent_run_1",
      input = { data = { { company = "Apple" } }, exclusion = { { company = "IBM" } } },
      budget = { maxCostDollars = 1 },
    }, p)
    assert.are_not.equal(schema, p.outputSchema) -- a copy
  end)

  it("has data_sources, query and the long-name aliases", function()
    local p = exa.run("first"):query("second"):data_sources{ "similarweb" }:output_schema{ type = "object" }
      :system_prompt("terse"):previous_run("agent_run_2"):params()
    assert.same({ query = "second", dataSources = { "similarweb" }, outputSchema = { type = "object" },
      systemPrompt = "terse", previousRunId = "agent_run_2" }, p)
  end)

  it("set needs a field name", function()
    local ok, e = pcall(function() return exa.run("q"):set(1, "x") end)
    assert.is_false(ok)
    assert.is_true(exa.is_error(e, "validation"))
  end)

  it("is reusable as a template", function()
    local base = exa.run("q"):effort("low")
    local a = base:params()
    a.effort = "high"
    assert.equals("low", base:params().effort)
    assert.is_nil(getmetatable(a))
    assert.equals('"q"', tostring(base):match('"q"'))
  end)

  it("is accepted where params are, and validated the same way", function()
    local client = exa.new{ api_key = "k", base_url = "http://127.0.0.1:9", max_retries = 0 }
    local ok, e = pcall(client.runs.create, client.runs, exa.run(""))
    assert.is_false(ok)
    assert.equals("validation", e.kind)
    assert.equals("query", e.field)
    ok, e = pcall(client.runs.create, client.runs, exa.run("q"):effort(3))
    assert.equals("effort", e.field)
  end)

  it("keeps json.array marks through :params()", function()
    local p = exa.run("q"):data(exa.array{}):params()
    assert.equals('[]', json.encode(p.input.data))
  end)
end)
