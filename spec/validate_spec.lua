-- Bad input is rejected before any request: every call here points at a
-- port nothing listens on, so a request would fail with kind "connect";
-- getting kind "validation" proves nothing was sent.
local exa = require "exa"
local json = require "exa.wire.json"
local body = require "exa.wire.body"

local client = exa.new{ api_key = "sk-validate-secret", base_url = "http://127.0.0.1:9", max_retries = 0 }

local function rejects(field, fn, ...)
  local ok, e = pcall(fn, ...)
  assert.is_false(ok, "expected a validation error for " .. field)
  assert.is_true(exa.is_error(e), "not an error object: " .. tostring(e))
  assert.equals("validation", e.kind, tostring(e))
  assert.equals(field, e.field, tostring(e))
  assert.matches(field:gsub("%p", "%%%0"), e.message)
  assert.is_false(e.retryable)
  assert.is_nil(e.status)
  return e
end

local function runs() return client.runs end

describe("validation before any request", function()
  describe("run ids", function()
    local bad = {
      { "", "empty" }, { string.rep("a", 201), "201 chars" }, { "run/../x", "slash" },
      { "run id", "space" }, { "run\n1", "newline" }, { "ü", "non-ascii" }, { 42, "number" },
      { exa.null, "null" }, { "a?b", "query char" }, { "a%2F", "percent" },
    }
    for _, m in ipairs{ "get", "cancel", "delete", "events", "iter_events", "replay", "wait" } do
      for _, case in ipairs(bad) do
        it(m .. " rejects an id: " .. case[2], function()
          rejects("id", runs()[m], runs(), case[1])
        end)
      end
    end
    it("rejects a missing id", function()
      rejects("id", runs().get, runs())
    end)
    it("accepts every allowed character and 200 chars (fails later, at connect)", function()
      for _, id in ipairs{ "agent_run_01j7x9v0m2n4p6q8r0s2t4v6w8", "A-z.0:9_", string.rep("x", 200), "a" } do
        local ok, e = pcall(runs().get, runs(), id)
        assert.is_false(ok)
        assert.is_true(exa.is_error(e))
        assert.are_not.equal("validation", e.kind)
      end
    end)
  end)

  describe("create and stream params", function()
    for _, m in ipairs{ "create", "stream" } do
      local function call(p) return runs()[m](runs(), p) end
      it(m .. ": params must be a table", function()
        rejects("params", call, "just a query")
        rejects("params", call, nil)
      end)
      it(m .. ": query missing, empty or not a string", function()
        rejects("query", call, {})
        rejects("query", call, { query = "" })
        rejects("query", call, { query = 12 })
        rejects("query", call, { query = { "x" } })
        rejects("query", call, { query = exa.null })
      end)
      it(m .. ": effort must be a string", function()
        rejects("effort", call, { query = "q", effort = 1 })
        rejects("effort", call, { query = "q", effort = true })
        rejects("effort", call, { query = "q", effort = { "low" } })
      end)
      it(m .. ": outputSchema must be a table", function()
        rejects("outputSchema", call, { query = "q", outputSchema = "{\"type\":\"object\"}" })
        rejects("outputSchema", call, { query = "q", outputSchema = 5 })
      end)
      it(m .. ": metadata values must be strings", function()
        rejects("metadata.n", call, { query = "q", metadata = { n = 1 } })
        rejects("metadata.b", call, { query = "q", metadata = { b = true } })
        rejects("metadata.t", call, { query = "q", metadata = { t = {} } })
        rejects("metadata", call, { query = "q", metadata = { "positional" } })
        rejects("metadata", call, { query = "q", metadata = "k=v" })
      end)
      it(m .. ": previousRunId must be a valid id", function()
        rejects("previousRunId", call, { query = "q", previousRunId = "bad id" })
        rejects("previousRunId", call, { query = "q", previousRunId = 7 })
      end)
      it(m .. ": systemPrompt, input, dataSources shapes", function()
        rejects("systemPrompt", call, { query = "q", systemPrompt = 1 })
        rejects("input", call, { query = "q", input = "rows" })
        rejects("input.data", call, { query = "q", input = { data = "rows" } })
        rejects("input.data[1]", call, { query = "q", input = { data = { "Apple" } } })
        rejects("input.exclusion", call, { query = "q", input = { exclusion = { x = {} } } })
        rejects("dataSources", call, { query = "q", dataSources = "similarweb" })
      end)
      it(m .. ": values JSON cannot hold", function()
        rejects("params", call, { query = "q", extra = function() end })
        local cyc = { query = "q" }
        cyc.self = cyc
        rejects("params.self", call, cyc)
      end)
      it(m .. ": unknown effort strings and unknown fields pass validation", function()
        local ok, e = pcall(call, { query = "q", effort = "ultra", budget = { maxCostDollars = 1 },
          brandNewField = { 1, 2 } })
        if m == "create" then
          assert.is_false(ok)
          assert.are_not.equal("validation", e.kind)
        else
          -- stream validates, then opens lazily: the first step sends the request
          assert.is_true(ok, tostring(e))
          local s = e
          local ok2, e2 = pcall(s)
          assert.is_false(ok2)
          assert.is_true(exa.is_error(e2), tostring(e2))
          assert.are_not.equal("validation", e2.kind)
        end
      end)
    end
  end)

  describe("list parameters", function()
    for _, m in ipairs{ "list", "iter" } do
      it(m .. ": limit outside 1..100 or not an integer", function()
        for _, l in ipairs{ 0, 101, -1, 1.5, "10", true } do
          rejects("limit", runs()[m], runs(), { limit = l })
        end
        rejects("limit", runs()[m], runs(), { limit = 0 / 0 })
        rejects("limit", runs()[m], runs(), { limit = math.huge })
      end)
      it(m .. ": cursor must be a non-empty string", function()
        rejects("cursor", runs()[m], runs(), { cursor = 5 })
        rejects("cursor", runs()[m], runs(), { cursor = "" })
      end)
      it(m .. ": params must be a table", function()
        rejects("params", runs()[m], runs(), 10)
      end)
    end
    it("events / iter_events check limit and cursor too", function()
      rejects("limit", runs().events, runs(), "run_1", { limit = 1000 })
      rejects("cursor", runs().events, runs(), "run_1", { cursor = {} })
      rejects("limit", runs().iter_events, runs(), "run_1", { limit = 0 })
    end)
  end)

  describe("replay and wait parameters", function()
    it("last_event_id must be a string or integer, without line breaks", function()
      rejects("last_event_id", runs().replay, runs(), "run_1", { last_event_id = {} })
      rejects("last_event_id", runs().replay, runs(), "run_1", { last_event_id = 1.5 })
      rejects("last_event_id", runs().replay, runs(), "run_1", { last_event_id = "3\r\nX-Evil: 1" })
    end)
    it("wait timeout and interval", function()
      rejects("timeout", runs().wait, runs(), "run_1", { timeout = -1 })
      rejects("interval", runs().wait, runs(), "run_1", { interval = 0 })
      rejects("interval", runs().wait, runs(), "run_1", { interval = "1" })
    end)
    it("per-call options", function()
      rejects("options", runs().get, runs(), "run_1", "fast")
      rejects("options.timeout", runs().get, runs(), "run_1", { timeout = 0 })
      rejects("header X-Bad", runs().get, runs(), "run_1", { headers = { ["X-Bad"] = "a\r\nInjected: 1" } })
    end)
  end)

  describe("exa.new", function()
    it("needs an API key", function()
      local saved = os.getenv("EXA_API_KEY")
      if not saved then rejects("api_key", exa.new, { base_url = "http://127.0.0.1:9" }) end
      rejects("api_key", exa.new, { api_key = "" })
      rejects("api_key", exa.new, { api_key = 42 })
    end)
    it("checks its options", function()
      rejects("base_url", exa.new, { api_key = "k", base_url = "ftp://x" })
      rejects("base_url", exa.new, { api_key = "k", base_url = "localhost:8080" })
      rejects("betas", exa.new, { api_key = "k", betas = { 1 } })
      rejects("betas", exa.new, { api_key = "k", betas = { "a,b" } })
      rejects("auth", exa.new, { api_key = "k", auth = "basic" })
      rejects("max_retries", exa.new, { api_key = "k", max_retries = -1 })
      rejects("timeout", exa.new, { api_key = "k", timeout = "10" })
      rejects("header X-A", exa.new, { api_key = "k", headers = { ["X-A"] = "1\n2" } })
      rejects("api_kye", exa.new, { api_kye = "k" })
    end)
    it("never shows the key in a validation error", function()
      local ok, e = pcall(exa.new, { api_key = "sk-LEAK-ME\n" })
      assert.is_false(ok)
      assert.is_nil(tostring(e):find("LEAK", 1, true))
      -- an option whose name (quoted in the message) is the key by mistake
      ok, e = pcall(exa.new, { api_key = "sk-LEAK-ME", ["sk-LEAK-ME"] = true })
      assert.is_false(ok)
      assert.equals("validation", e.kind)
      assert.is_nil(tostring(e):find("LEAK", 1, true))
    end)
  end)
end)

describe("the request body", function()
  it("never mutates or loses the caller's table", function()
    local md = {}
    local p = { query = "q", input = { data = {}, exclusion = {} }, metadata = md, dataSources = {},
      outputSchema = { type = "object", required = {}, properties = {} }, newField = { nested = { 1, 2 } } }
    local before = json.encode(p)
    local b = body.create(p)
    assert.equals(before, json.encode(p))
    assert.is_nil(getmetatable(p.input.data))
    assert.is_nil(getmetatable(p.outputSchema.required))
    assert.equals(md, p.metadata)
    assert.same({ nested = { 1, 2 } }, b.newField)
    assert.are_not.equal(p.newField, b.newField)
  end)

  it("encodes empty arrays in known array positions as [] and metadata {} as {}", function()
    local b = json.decode(json.encode(body.create{
      query = "q", input = { data = {}, exclusion = {} }, dataSources = {}, metadata = {},
      outputSchema = {
        type = "object", required = {}, properties = { x = {}, required = { type = "string" },
          tuple = { items = { { required = {} } } } }, -- draft-07 tuple form of items
        anyOf = { { required = {}, enum = {} } }, examples = {},
        items = { prefixItems = {}, type = {} }, ["$defs"] = { d = { oneOf = {}, allOf = {} } },
        dependencies = { a = { required = {} }, b = { "c" } },
        patternProperties = { ["^x"] = { enum = {} } },
      },
    }))
    assert.is_true(json.is_array(b.input.data))
    assert.is_true(json.is_array(b.input.exclusion))
    assert.is_true(json.is_array(b.dataSources))
    assert.is_false(json.is_array(b.metadata))
    local s = b.outputSchema
    assert.is_true(json.is_array(s.required))
    assert.is_true(json.is_array(s.examples))
    assert.is_true(json.is_array(s.anyOf[1].required))
    assert.is_true(json.is_array(s.anyOf[1].enum))
    assert.is_true(json.is_array(s.items.prefixItems))
    assert.is_true(json.is_array(s.items.type))
    assert.is_true(json.is_array(s["$defs"].d.oneOf))
    assert.is_true(json.is_array(s["$defs"].d.allOf))
    assert.is_true(json.is_array(s.dependencies.a.required))
    assert.is_true(json.is_array(s.properties.tuple.items[1].required))
    assert.is_true(json.is_array(s.patternProperties["^x"].enum))
    -- a property *named* like a keyword, and an empty (match-anything) schema, stay objects
    assert.is_false(json.is_array(s.properties.x))
    assert.is_false(json.is_array(s.properties))
    assert.equals("string", s.properties.required.type)
  end)

  it("keeps a decoded run's arrays when it is sent back", function()
    local prev = json.decode('{"query":"q","input":{"data":[]},"outputSchema":{"type":"object","required":[]},'
      .. '"newField":{"list":[]}}')
    local s = json.encode(body.create(prev))
    assert.matches('"data":%[%]', s)
    assert.matches('"required":%[%]', s)
    assert.matches('"list":%[%]', s) -- a position body.lua knows nothing about: the copy keeps the mark
  end)
end)
