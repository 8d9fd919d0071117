-- Every endpoint of client.runs against the simulator.
local exa = require "exa"
local json = require "exa.json"
local mock = require "helpers.mock"

describe("client.runs against the simulator", function()
  local srv, client

  setup(function()
    srv = mock.start{ "--speed", "400", "--max-active", "50" }
    client = exa.new{ api_key = "sk-runs-spec", base_url = srv.url }
  end)

  teardown(function()
    if client then client:close() end
    if srv then srv:stop() end
  end)

  it("create returns the run object", function()
    local run = client.runs:create{ query = "AI infrastructure funding rounds", effort = "low",
      metadata = { user = "u1" } }
    assert.matches("^agent_run_", run.id)
    assert.equals("agent_run", run.object)
    assert.is_true(run.status == "queued" or run.status == "running")
    assert.equals(exa.null, run.completedAt)
    assert.equals("u1", run.request.metadata.user)
    assert.is_true(json.is_array(run.output.grounding))
  end)

  it("get, wait, cancel and delete one run", function()
    local run = client.runs:create{ query = "short question", effort = "low" }
    local got = client.runs:get(run.id)
    assert.equals(run.id, got.id)
    local done = client.runs:wait(run.id, { interval = 0.05 })
    assert.equals("completed", done.status)
    assert.is_string(done.output.text)
    assert.is_number(done.costDollars.total)
    assert.is_number(done.usage.agentComputeUnits)
    -- cancel of a terminal run returns it unchanged
    assert.equals("completed", client.runs:cancel(run.id).status)
    local del = client.runs:delete(run.id)
    assert.same({ id = run.id, object = "agent_run.deleted", deleted = true }, del)
    local ok, e = pcall(client.runs.get, client.runs, run.id)
    assert.is_false(ok)
    assert.equals("not_found", e.kind)
    assert.equals("RUN_NOT_FOUND", e.code)
  end)

  it("cancel stops a running run", function()
    local c2 = exa.new{ api_key = "sk-runs-spec", base_url = srv.url, headers = { ["X-Mock-Fault"] = "run-seconds=600" } }
    local run = c2.runs:create(exa.run("a long one"):effort("xhigh"))
    local c = client.runs:cancel(run.id)
    c2:close()
    assert.equals(run.id, c.id)
    assert.equals("cancelled", client.runs:wait(run.id, { interval = 0.05 }).status)
  end)

  it("wait polls through the client's sleep option", function()
    local slept = {}
    -- the run lasts long enough that wait must poll (it was a race: a run
    -- done before the first GET needs no sleep)
    local c2 = exa.new{ api_key = "sk-runs-spec", base_url = srv.url,
      headers = { ["X-Mock-Fault"] = "run-seconds=400" }, -- 1 s at --speed 400: still running at the first poll
      sleep = function(s) slept[#slept + 1] = s; require("exa.clock").sleep(s) end }
    local run = c2.runs:create{ query = "wait with my sleep", effort = "low" }
    assert.equals("completed", c2.runs:wait(run.id, { interval = 0.05 }).status)
    assert.is_true(#slept >= 1)
    for _, s in ipairs(slept) do assert.equals(0.05, s) end
    c2:close()
  end)

  it("wait raises a timeout error object carrying the last run seen", function()
    local c2 = exa.new{ api_key = "sk-runs-spec", base_url = srv.url, headers = { ["X-Mock-Fault"] = "run-seconds=600" } }
    local run = c2.runs:create{ query = "slow" }
    local ok, e = pcall(c2.runs.wait, c2.runs, run.id, { timeout = 0.2, interval = 0.05 })
    assert.is_false(ok)
    assert.is_true(exa.is_error(e, "timeout"))
    assert.equals("WAIT_TIMEOUT", e.code)
    assert.equals(run.id, e.run.id)
    assert.matches(run.id, tostring(e))
    c2.runs:cancel(run.id)
    c2:close()
  end)

  it("list pages with limit and cursor, newest first", function()
    local fresh = exa.new{ api_key = "sk-list-" .. os.time() .. math.random(1e6), base_url = srv.url }
    local ids = {}
    for i = 1, 5 do ids[i] = fresh.runs:create{ query = "q" .. i, effort = "low" }.id end
    local p1 = fresh.runs:list{ limit = 2 }
    assert.equals("list", p1.object)
    assert.equals(2, #p1.data)
    assert.is_true(p1.hasMore)
    assert.equals(ids[5], p1.data[1].id)
    assert.equals(ids[4], p1.data[2].id)
    local p2 = fresh.runs:list{ limit = 2, cursor = p1.nextCursor }
    assert.equals(ids[3], p2.data[1].id)
    local p3 = fresh.runs:list{ limit = 2, cursor = p2.nextCursor }
    assert.equals(1, #p3.data)
    assert.is_false(p3.hasMore)
    assert.equals(exa.null, p3.nextCursor)
    -- iter walks all pages lazily, newest first
    local seen = {}
    for run in fresh.runs:iter{ limit = 2 } do seen[#seen + 1] = run.id end
    assert.same({ ids[5], ids[4], ids[3], ids[2], ids[1] }, seen)
    -- and stops fetching when the loop stops
    local before = srv:stats().requests
    for _ in fresh.runs:iter{ limit = 1 } do break end
    assert.equals(before + 2, srv:stats().requests) -- one page + the stats probe itself
    for _, id in ipairs(ids) do fresh.runs:cancel(id) end
    fresh:close()
  end)

  it("lists an account with no runs", function()
    local empty = exa.new{ api_key = "sk-empty-account", base_url = srv.url }
    local p = empty.runs:list()
    assert.equals(0, #p.data)
    assert.is_false(p.hasMore)
    local n = 0
    for _ in empty.runs:iter() do n = n + 1 end
    assert.equals(0, n)
  end)

  it("events pages stored events; iter_events walks them all", function()
    local run = client.runs:create{ query = "events please", effort = "low" }
    client.runs:wait(run.id, { interval = 0.05 })
    local page = client.runs:events(run.id, { limit = 3 })
    assert.equals("list", page.object)
    assert.equals(3, #page.data)
    assert.is_true(page.hasMore)
    assert.equals("1", tostring(page.data[1].id))
    assert.equals("agent_run.created", page.data[1].event)
    assert.equals(run.id, page.data[1].data.id)
    local all = {}
    for ev in client.runs:iter_events(run.id, { limit = 4 }) do all[#all + 1] = ev end
    assert.is_true(#all > 4)
    for i, ev in ipairs(all) do assert.equals(tostring(i), tostring(ev.id)) end
    assert.equals("agent_run.completed", all[#all].event)
    assert.equals("completed", all[#all].data.status)
  end)

  it("stream yields every event of a new run as it happens, ending after the terminal one", function()
    local evs = {}
    for ev in client.runs:stream{ query = "stream it", effort = "low" } do evs[#evs + 1] = ev end
    assert.equals("agent_run.created", evs[1].event)
    assert.equals("1", evs[1].id)
    assert.equals("queued", evs[1].data.status)
    assert.equals("agent_run.started", evs[2].event)
    local last = evs[#evs]
    assert.equals("agent_run.completed", last.event)
    assert.equals("completed", last.data.status)
    assert.equals(evs[1].data.id, last.data.id)
    for i, ev in ipairs(evs) do assert.equals(tostring(i), ev.id) end
    -- progress events the contract does not list pass through by name
    local names = {}
    for _, ev in ipairs(evs) do names[ev.event] = true end
    assert.is_true(names["agent_run.search_trace"])
    assert.is_true(names["agent_run.source.added"])
  end)

  it("stream reports a failed run through its terminal event", function()
    local c2 = exa.new{ api_key = "sk-runs-spec", base_url = srv.url, headers = { ["X-Mock-Fault"] = "run-fail" } }
    local last
    for ev in c2.runs:stream{ query = "will fail", effort = "low" } do last = ev end
    assert.equals("agent_run.failed", last.event)
    assert.equals("failed", last.data.status)
    c2:close()
  end)

  it("replay sends stored events after Last-Event-ID and ends", function()
    local run = client.runs:create{ query = "replay me", effort = "low" }
    local done = client.runs:wait(run.id, { interval = 0.05 })
    assert.equals("completed", done.status)
    local all = {}
    for ev in client.runs:replay(run.id) do all[#all + 1] = ev end
    assert.equals("1", all[1].id)
    assert.equals("agent_run.completed", all[#all].event)
    local after = {}
    for ev in client.runs:replay(run.id, { last_event_id = "3" }) do after[#after + 1] = ev.id end
    assert.equals("4", after[1])
    assert.equals(#all - 3, #after)
    local n = 0
    for _ in client.runs:replay(run.id, { last_event_id = 2 }) do n = n + 1 end
    assert.equals(#all - 2, n)
    local none = 0
    for _ in client.runs:replay(run.id, { last_event_id = all[#all].id }) do none = none + 1 end
    assert.equals(0, none)
  end)

  it("replay of a run still going sends what is stored and ends", function()
    local c2 = exa.new{ api_key = "sk-runs-spec", base_url = srv.url, headers = { ["X-Mock-Fault"] = "run-seconds=600" } }
    local run = c2.runs:create{ query = "long" }
    local n = 0
    for _ in c2.runs:replay(run.id) do n = n + 1 end
    assert.is_true(n >= 1)
    c2.runs:cancel(run.id)
    c2:close()
  end)

  it("previousRunId continues from a completed run", function()
    local first = client.runs:create{ query = "first", effort = "low" }
    client.runs:wait(first.id, { interval = 0.05 })
    local second = client.runs:create{ query = "follow up", effort = "low", previousRunId = first.id }
    assert.equals(first.id, second.request.previousRunId)
  end)

  it("sends empty arrays as [] and keeps unknown fields", function()
    local run = client.runs:create{ query = "rows", effort = "low", input = { data = {}, exclusion = {} },
      dataSources = {}, metadata = {}, futureField = { a = 1 } }
    local req = client.runs:get(run.id).request
    assert.is_true(json.is_array(req.input.data))
    assert.is_true(json.is_array(req.input.exclusion))
    assert.is_true(json.is_array(req.dataSources))
    assert.same({ a = 1 }, req.futureField)
  end)

  it("structured output follows the outputSchema", function()
    local schema = {
      type = "object", required = { "companies" },
      properties = { companies = { type = "array", maxItems = 3, items = {
        type = "object", required = { "name", "round", "amount", "sourceUrl" },
        properties = { name = { type = "string" }, round = { type = "string" }, amount = { type = "string" },
          sourceUrl = { type = "string", format = "uri" } } } } },
    }
    local run = client.runs:create(exa.run("funding"):effort("low"):schema(schema))
    local done = client.runs:wait(run.id, { interval = 0.05 })
    local cs = done.output.structured.companies
    assert.is_true(json.is_array(cs))
    assert.is_true(#cs <= 3)
    for _, c in ipairs(cs) do
      assert.is_string(c.name)
      assert.matches("^https?://", c.sourceUrl)
    end
  end)

  it("reuses one connection across pages (one connection pool per client)", function()
    local c2 = exa.new{ api_key = "sk-runs-spec", base_url = srv.url }
    for i = 1, 5 do client.runs:create{ query = "pool " .. i, effort = "low" } end
    -- each stats probe is a curl run of its own: one connection per probe
    local before = srv:stats().connections
    local probe = srv:stats().connections - before
    before = before + probe
    local p = c2.runs:list{ limit = 1 }
    for _ = 2, 5 do p = c2.runs:list{ limit = 1, cursor = p.nextCursor } end
    assert.equals(before + 1 + probe, srv:stats().connections)
    before = before + 1 + probe
    -- iterating five pages lazily: no new connection at all
    local n = 0
    for _ in c2.runs:iter{ limit = 1 } do n = n + 1; if n == 5 then break end end
    assert.equals(5, n)
    assert.equals(before + probe, srv:stats().connections)
    c2:close()
  end)

  it("bearer auth works and the default x-api-key does too", function()
    local srv2 = mock.start{ "--speed", "400", "--api-key", "sk-only-this" }
    local b = exa.new{ api_key = "sk-only-this", base_url = srv2.url, auth = "bearer" }
    assert.equals("list", b.runs:list().object)
    local x = exa.new{ api_key = "sk-only-this", base_url = srv2.url .. "/" }
    assert.equals("list", x.runs:list().object)
    b:close(); x:close()
    srv2:stop()
  end)

  it("several betas are sent joined with a comma", function()
    local c2 = exa.new{ api_key = "sk-runs-spec", base_url = srv.url, betas = { "future-beta", "agent-2026-05-07" } }
    assert.equals("list", c2.runs:list().object)
    c2:close()
  end)

  it("a closed client raises a clear error", function()
    local c2 = exa.new{ api_key = "sk-runs-spec", base_url = srv.url }
    c2.runs:list()
    c2:close()
    local ok, e = pcall(c2.runs.list, c2.runs)
    assert.is_false(ok)
    assert.is_true(exa.is_error(e, "closed"))
  end)
end)
