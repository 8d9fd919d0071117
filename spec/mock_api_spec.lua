-- The simulator's API, driven with curl: every endpoint and error code,
-- pagination, and every response validated against the contract's schemas.
if _VERSION ~= "Lua 5.4" then return end -- the simulator and its specs are Lua 5.4 only

local mock = require "helpers.mock"
local json = require "exa_mock.json"
local schema = require "exa_mock.schema"
local lyaml = require "lyaml"

-- A verbatim copy of ../shared/spec/exa-agent-api-openapi.patched.yml: CI has only the repo.
local CONTRACT = mock.root .. "/spec/fixtures/exa-agent-api-openapi.patched.yml"
local contract
do
  local f = io.open(CONTRACT)
  local text = assert(f, "contract not found: " .. CONTRACT):read("a")
  f:close()
  -- through JSON so arrays carry json.array_mt like decoded responses
  contract = json.decode(json.encode(lyaml.load(text)))
end

local function conform(name, value)
  local s = contract.components.schemas[name]
  local ok, err = schema.validate(s, value, contract)
  assert(ok, name .. ": " .. tostring(err))
end

-- Event pages carry progress events whose names the contract's enum lacks.
local function conform_events(value)
  local ev = json.decode(json.encode(contract.components.schemas.AgentRunEvent))
  ev.properties.event.enum = nil
  local list = json.decode(json.encode(contract.components.schemas.AgentRunEventList))
  list.properties.data.items = ev
  local ok, err = schema.validate(list, value, contract)
  assert(ok, "AgentRunEventList: " .. tostring(err))
end

local function err_of(status, body, code, etype)
  assert.is_table(body, "no JSON body")
  conform("AgentErrorResponse", body)
  assert.equal(code, body.error.code)
  if etype then assert.equal(etype, body.error.type) end
  return status
end

describe("exa-agent-mock API", function()
  local srv
  setup(function() srv = mock.start { "--speed", "100", "--seed", "7", "--max-active", "3" } end)
  teardown(function() srv:stop() end)

  it("creates a run, gets it, and it completes with a contract-valid object", function()
    local st, h, run = srv:api("POST", "/agent/runs", '{"query":"What is new in AI infra?","effort":"low"}')
    assert.equal(200, st)
    assert.truthy(h["x-request-id"])
    conform("AgentRun", run)
    assert.truthy(run.id:match("^agent_run_[0-9a-z]+$"))
    assert.equal(36, #run.id)
    assert.equal("queued", run.status)
    assert.equal(json.null, run.stopReason)
    assert.equal(json.null, run.completedAt)
    local done = srv:wait_run(run.id)
    conform("AgentRun", done)
    assert.equal("completed", done.status)
    assert.equal("schema_satisfied", done.stopReason)
    assert.truthy(done.output.text:find("What is new in AI infra?", 1, true))
    assert.equal(json.null, done.output.structured)
    local c = done.costDollars
    assert.near(c.agentCompute + c.search + c.emails + c.phoneNumbers, c.total, 1e-9)
    -- the price table: 1 ACU = $0.0001, $7 per 1,000 searches; a low run costs $0.025 in all
    assert.equal(110, done.usage.agentComputeUnits)
    assert.equal(2, done.usage.searches)
    assert.near(done.usage.agentComputeUnits * 0.0001, c.agentCompute, 1e-9)
    assert.near(done.usage.searches * 0.007, c.search, 1e-9)
    assert.near(0.025, c.total, 1e-9)
  end)

  it("stores unknown and newer request fields in request", function()
    local body = '{"query":"q","budget":{"maxCostDollars":1.5},"dataSources":[{"provider":"similarweb"}],'
      .. '"someFutureField":{"x":[1,2]},"metadata":{"user":"u1"},"input":{"data":[{"a":1}],"junk":1}}'
    local st, _, run = srv:api("POST", "/agent/runs", body)
    assert.equal(200, st)
    conform("AgentRun", run)
    assert.equal(1.5, run.request.budget.maxCostDollars)
    assert.equal("similarweb", run.request.dataSources[1].provider)
    assert.same({ 1, 2 }, { run.request.someFutureField.x[1], run.request.someFutureField.x[2] })
    assert.is_nil(run.request.input.junk)
    srv:wait_run(run.id)
  end)

  it("answers every 400 INVALID_REQUEST case", function()
    local cases = {
      "", "not json", "[1]", "{}", '{"query":""}', '{"query":"   "}', '{"query":5}', '{"query":null}',
      '{"query":"q","effort":"bogus"}', '{"query":"q","metadata":{"a":1}}', '{"query":"q","metadata":[]}',
      '{"query":"q","input":{"data":{}}}', '{"query":"q","input":{"data":[1]}}', '{"query":"q","systemPrompt":1}',
      '{"query":"q","previousRunId":"bad id!"}', '{"query":"q","budget":{"maxCostDollars":-1}}',
    }
    for _, body in ipairs(cases) do
      local st, _, b = srv:api("POST", "/agent/runs", body)
      assert.equal(400, err_of(st, b, "INVALID_REQUEST", "INVALID_REQUEST"), body)
    end
    for _, q in ipairs { "?limit=0", "?limit=101", "?limit=abc", "?limit=1.5", "?cursor=agent_run_unknown" } do
      local st, _, b = srv:api("GET", "/agent/runs" .. q)
      assert.equal(400, err_of(st, b, "INVALID_REQUEST"), q)
    end
  end)

  it("checks the beta header and the key", function()
    local st, _, b = srv:curl { method = "POST", path = "/agent/runs", body = '{"query":"q"}',
      headers = { "x-api-key: k" } }
    assert.equal(400, err_of(st, json.decode(b), "MISSING_BETA_HEADER", "INVALID_REQUEST"))
    st, _, b = srv:curl { path = "/agent/runs", headers = { "x-api-key: k", "Exa-Beta: agent-2025-01-01" } }
    assert.equal(400, err_of(st, json.decode(b), "INVALID_BETA_HEADER", "INVALID_REQUEST"))
    st, _, b = srv:curl { path = "/agent/runs", headers = { "Exa-Beta: " .. mock.BETA } }
    assert.equal(401, err_of(st, json.decode(b), "TEAM_NOT_FOUND", "AUTHENTICATION_ERROR"))
    st = srv:curl { path = "/agent/runs", headers = { "Authorization: Bearer k2", "Exa-Beta: " .. mock.BETA } }
    assert.equal(200, st)
  end)

  it("rejects a wrong key when --api-key is set, and --no-beta-check drops the header check", function()
    local s2 = mock.start { "--api-key", "secret", "--no-beta-check", "--speed", "100" }
    local st, _, b = s2:curl { path = "/agent/runs", headers = { "x-api-key: other" } }
    assert.equal(401, err_of(st, json.decode(b), "TEAM_NOT_FOUND", "AUTHENTICATION_ERROR"))
    st = s2:curl { path = "/agent/runs", headers = { "Authorization: Bearer secret" } }
    assert.equal(200, st)
    s2:stop()
  end)

  it("answers INVALID_OUTPUT_SCHEMA for unusable schemas", function()
    local bad = {
      '"string"', '{"type":"wat"}', '{"type":"object","properties":[]}', '{"type":"array","minItems":3,"maxItems":1}',
      '{"$ref":"#/$defs/missing"}', '{"enum":[]}', '{"type":"object","required":"a"}',
      '{"type":"integer","minimum":5,"maximum":1}', '{"allOf":[{"type":"string"},{"type":"integer"}]}',
    }
    for _, s in ipairs(bad) do
      local st, _, b = srv:api("POST", "/agent/runs", '{"query":"q","outputSchema":' .. s .. '}')
      assert.equal(400, err_of(st, b, "INVALID_OUTPUT_SCHEMA", "INVALID_REQUEST"), s)
    end
  end)

  it("produces structured output that validates, with grounding per leaf", function()
    local S = [[{"$defs":{"person":{"type":"object","required":["name","email","phone","linkedin_url"],
      "properties":{"name":{"type":"string"},"email":{"type":"string","format":"email"},
      "phone":{"type":"string","format":"phone"},"linkedin_url":{"type":"string","format":"uri"}}}},
      "type":"object","required":["companies","kind","updated","score","tags","contact"],
      "properties":{"companies":{"type":"array","minItems":2,"maxItems":3,"items":{"type":"object",
        "required":["name","round","amount","sourceUrl","employees"],"additionalProperties":false,
        "properties":{"name":{"type":"string"},"round":{"enum":["Series A","Series B"]},
        "amount":{"type":"string"},"sourceUrl":{"type":"string","format":"uri"},
        "employees":{"type":"integer","minimum":10,"maximum":20}}}},
      "kind":{"const":"report"},"updated":{"type":"string","format":"date-time"},
      "score":{"type":"number","minimum":0,"maximum":1},
      "tags":{"type":"array","items":{"anyOf":[{"type":"integer"},{"type":"string","maxLength":5}]}},
      "contact":{"oneOf":[{"$ref":"#/$defs/person"},{"type":"null"}]},
      "legacy":{"$ref":"#/definitions/old"}},
      "definitions":{"old":{"type":["string","null"]}}}]]
    local st, _, run = srv:api("POST", "/agent/runs", '{"query":"funding","effort":"high","outputSchema":' .. S .. '}')
    assert.equal(200, st)
    run = srv:wait_run(run.id)
    conform("AgentRun", run)
    local ok, err = schema.validate(json.decode(S), run.output.structured)
    assert(ok, err)
    local fields = {}
    for _, g in ipairs(run.output.grounding) do
      fields[g.field] = true
      assert.truthy(#g.citations >= 1)
    end
    assert.truthy(fields["structured.companies[0].sourceUrl"])
    assert.truthy(fields["structured.contact.email"])
    assert.truthy(fields["structured.kind"])
    assert.equal(1, run.usage.emails)
    assert.equal(1, run.usage.phoneNumbers)
    -- high: $0.50 of ACUs and searches (5 searches $0.035, 4,650 ACUs $0.465), plus the enrichment
    assert.equal(4650, run.usage.agentComputeUnits)
    assert.near(0.465, run.costDollars.agentCompute, 1e-9)
    assert.near(0.02, run.costDollars.emails, 1e-9)
    assert.near(0.07, run.costDollars.phoneNumbers, 1e-9)
    assert.near(0.59, run.costDollars.total, 1e-9)
  end)

  it("makes one item per input row, never an excluded record, reproducibly with --seed", function()
    local S = '{"type":"array","items":{"type":"object","required":["company","person"],'
      .. '"properties":{"company":{"type":"string"},"domain":{"type":"string"},"person":{"type":"string"}}}}'
    local function research(exclusion)
      local body = '{"query":"executives","outputSchema":' .. S
        .. ',"input":{"data":[{"company":"Apple","domain":"apple.com"},{"company":"Microsoft"},{"company":"Zed"}]'
        .. (exclusion and (',"exclusion":' .. exclusion) or "") .. '}}'
      local _, _, run = srv:api("POST", "/agent/runs", body)
      return srv:wait_run(run.id).output.structured
    end
    local a, b = research(), research()
    assert.same(a, b) -- same seed, same request: same output
    assert.equal(3, #a)
    assert.equal("Apple", a[1].company)
    assert.equal("apple.com", a[1].domain)
    assert.equal("Microsoft", a[2].company)
    local excl = json.encode(json.array { { company = "Apple", person = a[1].person }, { company = "Zed" } })
    local c = research(excl)
    assert.equal(2, #c) -- Zed is excluded entirely
    assert.equal("Apple", c[1].company)
    assert.are_not.equal(a[1].person, c[1].person)
    for _, item in ipairs(c) do assert.are_not.equal("Zed", item.company) end
  end)

  it("lists runs newest first with a cursor that survives new runs and deletions", function()
    local key = { key = "pager" }
    local s3 = mock.start { "--speed", "1000", "--max-active", "100" }
    local ids = {}
    for i = 1, 7 do
      local _, _, run = s3:api("POST", "/agent/runs", '{"query":"q' .. i .. '"}', key)
      ids[i] = run.id
    end
    local st, _, page = s3:api("GET", "/agent/runs?limit=3", nil, key)
    assert.equal(200, st)
    conform("AgentRunList", page)
    assert.same({ ids[7], ids[6], ids[5] }, { page.data[1].id, page.data[2].id, page.data[3].id })
    assert.is_true(page.hasMore)
    assert.equal(ids[5], page.nextCursor)
    s3:api("POST", "/agent/runs", '{"query":"newer"}', key) -- a new run must not shift the pages
    s3:api("DELETE", "/agent/runs/" .. ids[5], nil, key)     -- nor deleting the cursor's run
    local _, _, p2 = s3:api("GET", "/agent/runs?limit=3&cursor=" .. page.nextCursor, nil, key)
    conform("AgentRunList", p2)
    assert.same({ ids[4], ids[3], ids[2] }, { p2.data[1].id, p2.data[2].id, p2.data[3].id })
    local _, _, p3 = s3:api("GET", "/agent/runs?limit=3&cursor=" .. p2.nextCursor, nil, key)
    assert.equal(1, #p3.data)
    assert.is_false(p3.hasMore)
    assert.equal(json.null, p3.nextCursor)
    -- another key sees none of them
    local _, _, other = s3:api("GET", "/agent/runs", nil, { key = "someone-else" })
    assert.equal(0, #other.data)
    assert.equal("[]", json.encode(other.data))
    local _, _, missing = s3:api("GET", "/agent/runs/" .. ids[1], nil, { key = "someone-else" })
    assert.equal("RUN_NOT_FOUND", missing.error.code)
    s3:stop()
  end)

  it("pages events as JSON", function()
    local _, _, run = srv:api("POST", "/agent/runs", '{"query":"events"}')
    srv:wait_run(run.id)
    local seen, cursor = {}, nil
    repeat
      local st, _, page = srv:api("GET", "/agent/runs/" .. run.id .. "/events?limit=4" .. (cursor and ("&cursor=" .. cursor) or ""))
      assert.equal(200, st)
      conform_events(page)
      for _, ev in ipairs(page.data) do seen[#seen + 1] = ev end
      cursor = page.nextCursor ~= json.null and page.nextCursor or nil
      assert.equal(page.hasMore, cursor ~= nil)
    until not cursor
    for i, ev in ipairs(seen) do assert.equal(tostring(i), ev.id) end
    assert.equal("agent_run.created", seen[1].event)
    assert.equal("queued", seen[1].data.status)
    assert.equal("agent_run.started", seen[2].event)
    assert.equal("agent_run.completed", seen[#seen].event)
    conform("AgentRun", seen[#seen].data)
    local names = {}
    for _, ev in ipairs(seen) do names[ev.event] = true end
    for _, n in ipairs { "agent_run.search_trace", "agent_run.source.added", "agent_run.output_item.added",
      "agent_run.output_item.done" } do
      assert.truthy(names[n], n)
    end
    local st, _, b = srv:api("GET", "/agent/runs/" .. run.id .. "/events?cursor=999")
    assert.equal(400, err_of(st, b, "INVALID_REQUEST"))
    st, _, b = srv:api("GET", "/agent/runs/" .. run.id .. "/events?limit=0")
    assert.equal(400, err_of(st, b, "INVALID_REQUEST"))
  end)

  it("cancels active runs, returns terminal runs unchanged, deletes, then 404 everywhere", function()
    local s4 = mock.start { "--speed", "1" }
    local _, _, run = s4:api("POST", "/agent/runs", '{"query":"slow"}')
    local st, _, c = s4:api("POST", "/agent/runs/" .. run.id .. "/cancel")
    assert.equal(200, st)
    conform("AgentRun", c)
    assert.equal("cancelled", c.status)
    assert.equal("cancelled", c.stopReason)
    assert.is_string(c.completedAt)
    local _, _, again = s4:api("POST", "/agent/runs/" .. run.id .. "/cancel")
    assert.same(c, again)
    local _, _, evs = s4:api("GET", "/agent/runs/" .. run.id .. "/events")
    assert.equal("agent_run.cancelled", evs.data[#evs.data].event)
    local _, _, d = s4:api("DELETE", "/agent/runs/" .. run.id)
    conform("DeleteAgentRunResponse", d)
    assert.same({ id = run.id, object = "agent_run.deleted", deleted = true }, d)
    for _, req in ipairs { { "GET", "" }, { "DELETE", "" }, { "POST", "/cancel" }, { "GET", "/events" } } do
      local s, _, b = s4:api(req[1], "/agent/runs/" .. run.id .. req[2])
      assert.equal(404, err_of(s, b, "RUN_NOT_FOUND", "NOT_FOUND"), req[1] .. req[2])
    end
    s4:stop()
  end)

  it("enforces --max-active with 429 CONCURRENCY_LIMIT_REACHED", function()
    local s5 = mock.start { "--speed", "1", "--max-active", "2" }
    assert.equal(200, (s5:api("POST", "/agent/runs", '{"query":"a"}')))
    local _, _, r2 = s5:api("POST", "/agent/runs", '{"query":"b"}')
    local st, _, b = s5:api("POST", "/agent/runs", '{"query":"c"}')
    assert.equal(429, err_of(st, b, "CONCURRENCY_LIMIT_REACHED", "RATE_LIMIT_ERROR"))
    assert.equal(200, (s5:api("POST", "/agent/runs", '{"query":"other team"}', { key = "other" })))
    s5:api("POST", "/agent/runs/" .. r2.id .. "/cancel")
    assert.equal(200, (s5:api("POST", "/agent/runs", '{"query":"d"}')))
    s5:stop()
  end)

  it("checks previousRunId", function()
    local s6 = mock.start { "--speed", "1" }
    local st, _, b = s6:api("POST", "/agent/runs", '{"query":"a","previousRunId":"agent_run_nope"}')
    assert.equal(400, err_of(st, b, "PREVIOUS_RUN_NOT_FOUND", "INVALID_REQUEST"))
    local _, _, r = s6:api("POST", "/agent/runs", '{"query":"a"}')
    st, _, b = s6:api("POST", "/agent/runs", '{"query":"b","previousRunId":"' .. r.id .. '"}')
    assert.equal(400, err_of(st, b, "PREVIOUS_RUN_NOT_COMPLETED", "INVALID_REQUEST"))
    s6:stop()
    local _, _, done = srv:api("POST", "/agent/runs", '{"query":"a"}')
    srv:wait_run(done.id)
    st = srv:api("POST", "/agent/runs", '{"query":"b","previousRunId":"' .. done.id .. '"}')
    assert.equal(200, st)
  end)

  it("fails a run past one hour with TIMEOUT (run-seconds fault, --speed 36000)", function()
    local s7 = mock.start { "--speed", "36000" } -- the hour passes in 0.1 s
    local _, _, run = s7:api("POST", "/agent/runs", '{"query":"long"}', { headers = { "X-Mock-Fault: run-seconds=7200" } })
    run = s7:wait_run(run.id)
    conform("AgentRun", run)
    assert.equal("failed", run.status)
    assert.equal("error", run.stopReason)
    local _, _, evs = s7:api("GET", "/agent/runs/" .. run.id .. "/events?limit=100")
    local last = evs.data[#evs.data]
    assert.equal("agent_run.failed", last.event)
    assert.same({ type = "SERVER_ERROR", code = "TIMEOUT" }, { type = last.data.error.type, code = last.data.error.code })
    s7:stop()
  end)

  it("answers unknown routes 404 and wrong methods 405, and serves stats and reset", function()
    local st, _, b = srv:api("GET", "/nope")
    assert.equal(404, st)
    conform("AgentErrorResponse", b)
    local h
    st, h, b = srv:api("PUT", "/agent/runs")
    assert.equal(405, st)
    assert.equal("GET, POST", h["allow"])
    conform("AgentErrorResponse", b)
    local s = srv:stats()
    for _, k in ipairs { "connections", "open_connections", "requests", "open_streams", "runs" } do
      assert.is_number(s[k], k)
    end
    local _, _, run = srv:api("POST", "/agent/runs", '{"query":"forget me"}')
    assert.truthy(srv:stats().runs > 0)
    st, _, b = srv:curl { method = "POST", path = "/_mock/reset" }
    assert.equal(200, st)
    assert.equal(0, srv:stats().runs)
    assert.equal(404, (srv:api("GET", "/agent/runs/" .. run.id)))
  end)
end)
