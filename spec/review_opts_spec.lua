-- Review findings on option checking, the budget and redaction. No request
-- is sent: every call here is refused before any byte goes out (the base URL
-- is a closed port).
local exa = require "exa"
local refused = require "helpers.raises"
local unpack = table.unpack or unpack -- luacheck: ignore

local URL = "http://127.0.0.1:9"
-- not a run id (the "/"), so a validation message quotes it
local KEY = "sk/review-secret-0123456789"

-- every string reachable from v, nested tables included
local function strings(v, out, seen)
  out, seen = out or {}, seen or {}
  if type(v) == "string" then out[#out + 1] = v
  elseif type(v) == "table" and not seen[v] then
    seen[v] = true
    for k, x in pairs(v) do strings(k, out, seen); strings(x, out, seen) end
  end
  return out
end

local function assert_no_key(e)
  assert.is_nil(tostring(e):find(KEY, 1, true), tostring(e))
  for _, s in ipairs(strings(e)) do assert.is_nil(s:find(KEY, 1, true), s) end
end

describe("the budget's holds", function()
  it("a stream refused for its options holds nothing back", function()
    local c = exa.new{ api_key = "k", base_url = URL, budget = { max_dollars = 1 } }
    local e = refused(c.runs.stream, c.runs, { query = "q", effort = "high" }, { timout = 1 })
    assert.equal("validation", e.kind)
    e = refused(c.runs.stream, c.runs, { query = "q", effort = "high" }, { resume = "no" })
    assert.equal("validation", e.kind)
    local b = c:costs().budget
    assert.equal(0, b.reserved)
    assert.equal(1, b.remaining)
    c:close()
  end)
end)

describe("the key in validation errors", function()
  it("is scrubbed from what the budget rule refuses (create, stream, run)", function()
    local c = exa.new{ api_key = KEY, base_url = URL, budget = { max_dollars = 1 } }
    local p = { query = "q", effort = "low", previousRunId = KEY }
    for _, m in ipairs{ "create", "stream", "run" } do
      local e = refused(c.runs[m], c.runs, p)
      assert.equal("validation", e.kind)
      assert.equal("previousRunId", e.field)
      assert_no_key(e)
    end
    assert.equal(0, c:costs().budget.reserved)
    c:close()
  end)

  it("is scrubbed from batch's checks of its params and options", function()
    local c = exa.new{ api_key = KEY, base_url = URL }
    local e = refused(c.runs.batch, c.runs, { { query = "q", effort = "low", previousRunId = KEY } })
    assert.equal("validation", e.kind)
    assert.equal("[1].previousRunId", e.field)
    assert_no_key(e)
    e = refused(c.runs.batch, c.runs, { { query = "q", effort = "low" } }, { [KEY] = true })
    assert.equal("validation", e.kind)
    assert_no_key(e)
    c:close()
  end)
end)

describe("list parameters", function()
  -- a list call sends a key it does not know as a query parameter (the API
  -- may add filters), which the API ignores: this library's own option
  -- names there are mistakes, refused like headers and timeout already were
  it("refuse the names of replay and stream options", function()
    local c = exa.new{ api_key = "k", base_url = URL, max_retries = 0 }
    local r = c.runs
    local cases = {
      { "last_event_id", "runs:replay(id, {last_event_id", r.events, r, "run_1", { last_event_id = 3 } },
      { "lastEventId", "runs:replay(id, {last_event_id", r.iter_events, r, "run_1", { lastEventId = "3" } },
      { "resume", "runs:stream(params, {resume", r.iter, r, { resume = false } },
      { "marker", "per-call option of create", r.list, r, { marker = false } },
    }
    for _, case in ipairs(cases) do
      local e = refused(select(3, unpack(case)))
      assert.equal("validation", e.kind, tostring(e))
      assert.equal(case[1], e.field)
      assert.matches(case[2], e.message, 1, true)
    end
    c:close()
  end)
end)

describe("the key in a base URL's path (a gateway's)", function()
  local peer = require "helpers.api_peer"
  local p
  setup(function() p = peer.start(120) end)
  teardown(function() p:stop() end)

  -- "/<key>/.." reaches the peer's /agent/runs (dot segments go) with the
  -- key in base_url, as a gateway that takes the key in its path would have it
  local function client(key, copts)
    p:session{ key = key, n = 6, plan = { create = {
      { framing = "close", cut = { at = "between", k = 0.4, how = "fin" } } } } }
    copts.api_key, copts.base_url = key, p.url .. "/" .. key .. "/.."
    return exa.new(copts)
  end

  it("is scrubbed from an incomplete stream's error, raised or handed to on_retry", function()
    local key1 = "sk-gateway-secret-1" -- one path segment: "/.." takes it away whole
    local c = client(key1, { max_retries = 0 })
    local e = refused(function()
      for _ in c.runs:stream({ query = "q", effort = "low" }, { resume = false }) do end
    end)
    assert.equal("incomplete", e.kind)
    for _, s in ipairs(strings(e)) do assert.is_nil(s:find(key1, 1, true), s) end
    c:close()

    local key2 = "sk-gateway-secret-2"
    local seen = {}
    c = client(key2, { max_retries = 2, sleep = function() end,
      on_retry = function(err) seen[#seen + 1] = err end })
    local n = 0
    for _ in c.runs:stream{ query = "q", effort = "low" } do n = n + 1 end
    assert.equal(6, n)
    assert.equal(1, #seen)
    assert.equal("incomplete", seen[1].kind)
    for _, s in ipairs(strings(seen[1])) do assert.is_nil(s:find(key2, 1, true), s) end
    c:close()
  end)
end)

describe("the budget rule's bound on contact enrichment", function()
  -- the service fills a required key the schema has no property for (the
  -- simulator does, from the key's name): the estimate must count it
  it("counts required keys without a property, and additionalProperties by maxProperties", function()
    local function est(schema)
      return exa.estimate{ query = "q", effort = "low", outputSchema = schema }
    end
    local e = est{ type = "object", required = { "email" } }
    assert.equal(1, e.emails)
    assert.equal(0.045, e.max_dollars)
    e = est{ type = "object", required = { "name", "ceo_email", "phone" },
      properties = { name = { type = "string" } }, additionalProperties = { type = "string" } }
    assert.equal(1, e.emails)
    assert.equal(1, e.phone_numbers)
    -- a map of contacts: as many as maxProperties allows, or no bound
    local map = { type = "object", additionalProperties = { type = "string", format = "email" } }
    e = est{ type = "object", properties = { contacts = map } }
    assert.equal(math.huge, e.max_dollars)
    assert.matches("maxProperties", e.unbounded, 1, true)
    assert.matches("maxProperties", refused(exa.check_budget,
      { query = "q", effort = "low", outputSchema = map }, 10).message, 1, true)
    map.maxProperties = 3
    e = est{ type = "object", properties = { contacts = map } }
    assert.equal(3, e.emails)
    e = est{ type = "object", patternProperties = { ["^phone_"] = { type = "string" } }, maxProperties = 2 }
    assert.equal(2, e.phone_numbers)
    -- no contacts in the map: nothing to bound
    assert.equal(0.025, est{ type = "object", additionalProperties = { type = "string" } }.max_dollars)
  end)

  it("keeps a client's budget a hard cap against the simulator", function()
    local mock = require "helpers.mock"
    local srv = mock.start{ "--speed", "100" }
    local ok, err = pcall(function()
      local c = exa.new{ api_key = "k", base_url = srv.url, budget = { max_dollars = 0.03 } }
      local p = { query = "the contact", effort = "low", outputSchema = { type = "object", required = { "email" } } }
      assert.equal("budget", refused(c.runs.run, c.runs, p, { interval = 0.02 }).kind)
      c:close()
      c = exa.new{ api_key = "k", base_url = srv.url, budget = { max_dollars = 0.045 } }
      local run = c.runs:run(p, { interval = 0.02 })
      assert.equal(0.02, run.costDollars.emails)
      assert.is_true(c:costs().budget.spent <= 0.045 + 1e-9)
      c:close()
    end)
    srv:stop()
    assert(ok, err)
  end)
end)
