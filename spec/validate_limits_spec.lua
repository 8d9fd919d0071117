-- Hostile or mistaken input is refused with a validation error object
-- before any request (issue 7 items 4-6, issue 9's field spellings): deep
-- nesting, dot-only run ids, a key passed where an id goes, non-UTF-8
-- strings, NaN/inf durations, misspelled create fields. As in
-- validate_spec, calls point at a port nothing listens on: kind
-- "validation" proves nothing was sent (a request would fail "connect").
local exa = require "exa"
local json = require "exa.wire.json"
local body = require "exa.wire.body"
local validate = require "exa.validate"
local errors = require "exa.errors"
local mock = require "helpers.mock"

local NOWHERE = "http://127.0.0.1:9"
local client = exa.new{ api_key = "sk-limits-secret", base_url = NOWHERE, max_retries = 0 }
local runs = client.runs

local function escape(s) return (s:gsub("%p", "%%%0")) end

local function rejects(field, fn, ...)
  local ok, e = pcall(fn, ...)
  assert.is_false(ok, "expected a validation error for " .. field)
  assert.is_true(exa.is_error(e), "not an error object: " .. tostring(e))
  assert.equals("validation", e.kind, tostring(e))
  assert.equals(field, e.field, tostring(e))
  assert.matches(escape(field), e.message)
  assert.is_false(e.retryable)
  return e
end

-- The call got past validation: it failed at connect (create/get) or, for
-- a stream, on its first step.
local function passes(fn, ...)
  local ok, e = pcall(fn, ...)
  if ok and type(e) == "table" and getmetatable(e) and not exa.is_error(e) then
    ok, e = pcall(e) -- a stream opens lazily
  end
  assert.is_false(ok)
  assert.is_true(exa.is_error(e), tostring(e))
  assert.equals("connect", e.kind, tostring(e))
end

-- {a = {a = ... }} with n tables in all (the outer one included).
local function nest(n, key)
  local root = {}
  local t = root
  for _ = 2, n do
    t[key or "a"] = {}
    t = t[key or "a"]
  end
  return root
end

local function path(n, key)
  return "params.x" .. string.rep("." .. (key or "a"), n - 1)
end

describe("nesting depth", function()
  local MAX = body.MAX_DEPTH

  it("is bounded at 200 tables, the params table included", function()
    assert.equals(200, MAX)
  end)

  for _, m in ipairs{ "create", "stream" } do
    it(m .. ": one table past the bound is a validation error naming the path and the limit", function()
      -- params (1) + x (2) + MAX - 1 more: MAX + 1 tables
      local e = rejects(path(MAX), runs[m], runs, { query = "q", x = nest(MAX) })
      assert.matches("at most 200 tables", e.message)
    end)

    it(m .. ": exactly the bound is sent", function()
      passes(runs[m], runs, { query = "q", x = nest(MAX - 1) })
    end)
  end

  it("1,001 and 50,000 levels: an error object, not a cjson string or a stack overflow", function()
    for _, n in ipairs{ 1001, 50000 } do
      local e = rejects(path(MAX), runs.create, runs, { query = "q", x = nest(n) })
      assert.matches("at most 200 tables", e.message)
    end
  end)

  it("counts every kind of nesting: arrays, schema, records", function()
    local deep = nest(MAX, "items")
    rejects("params.outputSchema" .. string.rep(".items", MAX - 1), runs.create, runs,
      { query = "q", outputSchema = deep })
    local arr = {}
    local t = arr
    for _ = 1, MAX do t[1] = {}; t = t[1] end
    rejects("params.extra" .. string.rep("[1]", MAX - 1), runs.create, runs, { query = "q", extra = arr })
  end)

  it("bounds the builder's copy too", function()
    local b = exa.run("q"):set("x", nest(5000))
    rejects(path(MAX), b.params, b)
  end)

  it("exa.json_encode returns nil and a message past 1000 levels, never raises", function()
    for _, n in ipairs{ 1001, 1002, 1500 } do -- cjson's own limit, then the core's check
      local s, err = exa.json_encode(nest(n))
      assert.is_nil(s)
      assert.matches("nest", err)
    end
  end)
end)

describe("run ids made of dots", function()
  for _, m in ipairs{ "get", "cancel", "delete", "events", "iter_events", "replay", "wait" } do
    it(m .. " rejects . .. and ...", function()
      for _, id in ipairs{ ".", "..", "..." } do
        local e = rejects("id", runs[m], runs, id)
        assert.matches("only dots", e.message)
      end
    end)
  end

  it("previousRunId too", function()
    rejects("previousRunId", runs.create, runs, { query = "q", previousRunId = ".." })
  end)

  it("dots inside an id are fine", function()
    for _, id in ipairs{ ".a", "a.", "a..b", "..a", "run.1" } do
      passes(runs.get, runs, id)
    end
  end)
end)

describe("a validation message never shows the API key", function()
  -- 60 characters, with a "/" so it fails the id pattern (base64 keys do)
  local KEY = "sk/" .. string.rep("Ab3xY9", 9) .. "zQ+"
  local kc = exa.new{ api_key = KEY, base_url = NOWHERE, max_retries = 0 }

  -- every string anywhere in e, and tostring(e)
  local function texts(e)
    local out, seen = { tostring(e) }, {}
    local function walk(t)
      if seen[t] then return end
      seen[t] = true
      for k, v in pairs(t) do
        if type(k) == "string" then out[#out + 1] = k end
        if type(v) == "string" then out[#out + 1] = v elseif type(v) == "table" then walk(v) end
      end
    end
    walk(e)
    return table.concat(out, "\n")
  end

  -- no 8-byte window of the key appears
  local function no_key(e)
    local all = texts(e)
    for i = 1, #KEY - 7 do
      local w = KEY:sub(i, i + 7)
      assert.is_nil(all:find(w, 1, true), "key bytes " .. w .. " shown in: " .. all)
    end
    assert.matches("REDACTED", e.message)
  end

  it("runs:get(KEY) with a 60-character key", function()
    assert.equals(60, #KEY)
    local e = rejects("id", kc.runs.get, kc.runs, KEY)
    no_key(e)
  end)

  it("when the key is inside a longer value, or next to characters %q escapes", function()
    for _, v in ipairs{ "Bearer " .. KEY, KEY .. '"\\', "x-api-key: " .. KEY } do
      no_key(rejects("id", kc.runs.get, kc.runs, v))
    end
  end)

  it("through every method that takes an id, and previousRunId", function()
    for _, m in ipairs{ "cancel", "delete", "events", "iter_events", "replay", "wait" } do
      no_key(rejects("id", kc.runs[m], kc.runs, KEY))
    end
    no_key(rejects("previousRunId", kc.runs.create, kc.runs, { query = "q", previousRunId = KEY }))
  end)

  it("in exa.new's option checks", function()
    no_key(rejects("timeout", exa.new, { api_key = KEY, base_url = NOWHERE, timeout = KEY }))
    local e = rejects("[REDACTED]", exa.new, { api_key = KEY, base_url = NOWHERE, [KEY] = true })
    no_key(e)
  end)

  it("while other long values are still quoted, cut at 40 bytes", function()
    local v = string.rep("r", 50) .. "/"
    local e = rejects("id", kc.runs.get, kc.runs, v)
    assert.matches('"' .. string.rep("r", 40) .. '%.%.%."', e.message)
  end)

  it("errors.redact scrubs the whole quoted value, for any caller", function()
    local ok, e = pcall(errors.invalid, "f", "f is " .. errors.describe("pre-" .. KEY), "pre-" .. KEY)
    assert.is_false(ok)
    assert.matches(escape(KEY:sub(1, 20)), e.message) -- quoted, unredacted until redact()
    errors.redact(e, KEY)
    assert.equals('f is "pre-[REDACTED]"', e.message)
  end)
end)

describe("strings must be UTF-8", function()
  local bad = {
    { "\255", 1, "0xFF" }, { "ok\192\175", 3, "0xC0" }, -- overlong "/"
    { "caf\195", 4, "0xC3" },                            -- cut sequence
    { "a\237\160\128", 2, "0xED" },                      -- surrogate U+D800
    { "\244\144\128\128", 1, "0xF4" },                   -- above U+10FFFF
    { "ab\128", 3, "0x80" },                             -- lone continuation byte
    { "\226\130x", 1, "0xE2" },                           -- bad continuation
  }

  it("validate.utf8_error finds the first bad byte", function()
    for _, c in ipairs(bad) do
      local at, byte = validate.utf8_error(c[1])
      assert.equals(c[2], at, c[1])
      assert.equals(tonumber(c[3]), byte)
    end
    for _, s in ipairs{ "", "plain", "café", "日本語", "\240\159\152\128", "\244\143\191\191", "\239\191\191",
      "\237\159\191", string.rep("é", 1000) } do
      assert.is_nil(validate.utf8_error(s), s)
    end
  end)

  for _, m in ipairs{ "create", "stream" } do
    it(m .. ": names the field path and the byte", function()
      local cases = {
        { "params.query", { query = "caf\195" }, 4 },
        { "params.systemPrompt", { query = "q", systemPrompt = "\255" }, 1 },
        { "params.metadata.user", { query = "q", metadata = { user = "ab\128" } }, 3 },
        { "params.outputSchema.properties.name.description",
          { query = "q", outputSchema = { type = "object", properties = { name = { description = "x\255" } } } }, 2 },
        { "params.input.data[2].name", { query = "q", input = { data = { { name = "a" }, { name = "\192\175" } } } }, 1 },
        { "params.brandNew.deep", { query = "q", brandNew = { deep = "\237\160\128" } }, 1 },
      }
      for _, c in ipairs(cases) do
        local e = rejects(c[1], runs[m], runs, c[2])
        assert.matches("not valid UTF%-8: byte " .. c[3] .. " ", e.message)
      end
    end)

    it(m .. ": keys too (metadata keys, schema property names)", function()
      local e = rejects("params.metadata", runs[m], runs, { query = "q", metadata = { ["k\255"] = "v" } })
      assert.matches("a key of params.metadata is not valid UTF%-8: byte 2 ", e.message)
      rejects("params.outputSchema.properties", runs[m], runs,
        { query = "q", outputSchema = { properties = { ["\255"] = {} } } })
    end)

    it(m .. ": valid UTF-8 of every length is sent", function()
      passes(runs[m], runs, { query = "café 日本語 \240\159\152\128", metadata = { ["clé"] = "valeur" } })
    end)
  end
end)

describe("durations are finite numbers", function()
  local bad = { 0 / 0, math.huge, -math.huge, "10", -1, 2e6 + 1 }

  for _, o in ipairs{ "timeout", "connect_timeout", "stream_idle_timeout" } do
    it("exa.new " .. o, function()
      for _, v in ipairs(bad) do
        rejects(o, exa.new, { api_key = "k", base_url = NOWHERE, [o] = v })
      end
      rejects(o, exa.new, { api_key = "k", base_url = NOWHERE, [o] = 0.0004 }) -- under curl's 1 ms
      local e = rejects(o, exa.new, { api_key = "k", base_url = NOWHERE, [o] = 0 / 0 })
      assert.matches("got nan$", e.message) -- the same word on every Lua
      e = rejects(o, exa.new, { api_key = "k", base_url = NOWHERE, [o] = math.huge })
      assert.matches("got inf$", e.message)
    end)
  end

  for _, o in ipairs{ "retry_base_delay", "retry_max_delay", "max_retry_after" } do
    it("exa.new " .. o, function()
      for _, v in ipairs(bad) do
        rejects(o, exa.new, { api_key = "k", base_url = NOWHERE, [o] = v })
      end
      exa.new{ api_key = "k", base_url = NOWHERE, [o] = 0 } -- no delay is allowed
    end)
  end

  it("the largest allowed durations reach the core without a plain error", function()
    local c = exa.new{ api_key = "k", base_url = NOWHERE, max_retries = 0, timeout = 2e6,
      connect_timeout = 2e6, stream_idle_timeout = 2e6 }
    passes(c.runs.get, c.runs, "run_1")
    passes(c.runs.stream, c.runs, { query = "q" })
  end)

  it("per-call options (validate.call_options, what runs methods check)", function()
    for _, v in ipairs{ 0 / 0, math.huge, -math.huge, "1", 0, 0.0004, 2e6 + 1 } do
      rejects("options.timeout", validate.call_options, { timeout = v })
    end
    rejects("options.max_retries", validate.call_options, { max_retries = math.huge })
    rejects("options.max_retries", validate.call_options, { max_retries = 0 / 0 })
    rejects("options", validate.call_options, "fast")
    assert.same({}, validate.call_options(nil))
    local o = { timeout = 0.001, max_retries = 0, headers = { ["X-A"] = "1" } }
    assert.equals(o, validate.call_options(o))
  end)
end)

describe("create field names", function()
  local near = {
    { "output_schema", "outputSchema" }, { "outputschema", "outputSchema" }, { "OutputSchema", "outputSchema" },
    { "system_prompt", "systemPrompt" }, { "previous_run_id", "previousRunId" }, { "Query", "query" },
    { "QUERY", "query" }, { "data_sources", "dataSources" }, { "data-sources", "dataSources" },
    { "Effort", "effort" }, { "meta_data", "metadata" }, { "Budget", "budget" }, { "INPUT", "input" },
  }
  for _, m in ipairs{ "create", "stream" } do
    it(m .. ": a near miss of a known field names the right spelling", function()
      for _, c in ipairs(near) do
        local p = { query = "q", [c[1]] = "x" }
        if c[2] == "query" then p.query = nil end -- "Query" instead of query: say so, not "query is required"
        local e = rejects(c[1], runs[m], runs, p)
        assert.matches("did you mean " .. c[2] .. "%?", e.message)
      end
    end)

    it(m .. ": nested names the API defines", function()
      local cases = {
        { "input.Data", "input.data", { input = { Data = {} } } },
        { "input.EXCLUSION", "input.exclusion", { input = { EXCLUSION = {} } } },
        { "budget.max_cost_dollars", "budget.maxCostDollars", { budget = { max_cost_dollars = 5 } } },
        { "budget.maxcostdollars", "budget.maxCostDollars", { budget = { maxcostdollars = 5 } } },
        { "budget.max_duration_seconds", "budget.maxDurationSeconds", { budget = { max_duration_seconds = 60 } } },
        { "dataSources[1].Provider", "dataSources[1].provider", { dataSources = { { Provider = "fiber" } } } },
      }
      for _, c in ipairs(cases) do
        local p = c[3]
        p.query = "q"
        local e = rejects(c[1], runs[m], runs, p)
        assert.matches("did you mean " .. escape(c[2]) .. "%?", e.message)
      end
    end)

    it(m .. ": every other unknown field, and every effort string, passes", function()
      passes(runs[m], runs, { query = "q", outputSchemaVersion = 2, queries = { "a" }, budgetCap = 1,
        input = { data = {}, extras = true }, budget = { maxCostDollars = 5, currency = "USD" },
        dataSources = { { provider = "fiber", scope = "all" } },
        metadata = { output_schema = "a metadata key is the caller's own" },
        outputSchema = { type = "object", Properties = {}, required_fields = {} } })
      for _, effort in ipairs{ "minimal", "low", "medium", "high", "xhigh", "auto", "max", "ultra", "future-tier" } do
        passes(runs[m], runs, { query = "q", effort = effort })
      end
    end)
  end
end)

describe("against the simulator", function()
  local srv, c

  setup(function()
    srv = mock.start{ "--speed", "400", "--max-active", "50" }
    c = exa.new{ api_key = "sk-limits-mock", base_url = srv.url, max_retries = 0 }
  end)

  teardown(function()
    if c then c:close() end
    if srv then srv:stop() end
  end)

  it("refused input sends no request at all", function()
    local before = srv:stats().requests
    local KEY60 = string.rep("k", 59) .. "/"
    local attempts = {
      function() return c.runs:create{ query = "q", x = nest(1001) } end,
      function() return c.runs:create{ query = "q\255" } end,
      function() return c.runs:create{ query = "q", output_schema = {} } end,
      function() return c.runs:delete(".") end,
      function() return c.runs:cancel("..") end,
      function() return c.runs:get(KEY60) end,
      function() return c.runs:stream{ query = "q", metadata = { k = "\192\175" } } end,
    }
    for i, f in ipairs(attempts) do
      local ok, e = pcall(f)
      assert.is_false(ok, "attempt " .. i)
      assert.is_true(exa.is_error(e, "validation"), tostring(e))
    end
    assert.equals(before + 1, srv:stats().requests) -- the first stats call itself
  end)

  it("unknown fields reach the API unchanged", function()
    local run = c.runs:create{ query = "q", effort = "low", outputSchemaVersion = 2,
      queries = { "a", "b" }, budgetCap = { dollars = 1.5 }, metadata = { output_schema = "kept" } }
    assert.equals(2, run.request.outputSchemaVersion)
    assert.same({ "a", "b" }, run.request.queries)
    assert.same({ dollars = 1.5 }, run.request.budgetCap)
    assert.equals("kept", run.request.metadata.output_schema)
    assert.is_true(json.is_array(run.request.queries))
  end)
end)
