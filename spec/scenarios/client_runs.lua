-- Every endpoint of client.runs against the simulator, through both
-- backends (helpers/scenarios.lua): spec/client_runs_spec.lua runs it.
local assert = require "luassert"

local T = {}
local function test(name, fn, opts) T[#T + 1] = { name, fn, opts } end

local KEY = "sk-runs-spec"

test("create returns the run object", function(ctx)
  local exa = ctx.exa
  local json = ctx.json
  local client = ctx.client{ api_key = KEY, base_url = ctx.mock() }
  local run = client.runs:create{ query = "AI infrastructure funding rounds", effort = "low",
    metadata = { user = "u1" } }
  assert.matches("^agent_run_", run.id)
  assert.equals("agent_run", run.object)
  assert.is_true(run.status == "queued" or run.status == "running")
  assert.equals(exa.null, run.completedAt)
  assert.equals("u1", run.request.metadata.user)
  assert.is_true(json.is_array(run.output.grounding))
end)

test("get, wait, cancel and delete one run", function(ctx)
  local client = ctx.client{ api_key = KEY, base_url = ctx.mock() }
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

test("cancel stops a running run", function(ctx)
  local exa = ctx.exa
  local client = ctx.client{ api_key = KEY, base_url = ctx.mock() }
  local c2 = ctx.client{ api_key = KEY, base_url = ctx.mock(), headers = { ["X-Mock-Fault"] = "run-seconds=600" } }
  local run = c2.runs:create(exa.run("a long one"):effort("xhigh"))
  local c = client.runs:cancel(run.id)
  c2:close()
  assert.equals(run.id, c.id)
  assert.equals("cancelled", client.runs:wait(run.id, { interval = 0.05 }).status)
end)

test("wait polls through the client's sleep option", function(ctx)
  local exa = ctx.exa
  local slept = {}
  -- the run lasts long enough that wait must poll (it was a race: a run
  -- done before the first GET needs no sleep)
  local c2 = ctx.client{ api_key = KEY, base_url = ctx.mock(),
    headers = { ["X-Mock-Fault"] = "run-seconds=400" }, -- 1 s at --speed 400: still running at the first poll
    sleep = function(s) slept[#slept + 1] = s; ctx.sleep(s) end }
  local run = c2.runs:create{ query = "wait with my sleep", effort = "low" }
  assert.equals("completed", c2.runs:wait(run.id, { interval = 0.05 }).status)
  assert.is_true(#slept >= 1)
  for _, s in ipairs(slept) do assert.equals(0.05, s) end
  c2:close()
end)

test("wait raises a timeout error object carrying the last run seen", function(ctx)
  local exa = ctx.exa
  local c2 = ctx.client{ api_key = KEY, base_url = ctx.mock(), headers = { ["X-Mock-Fault"] = "run-seconds=600" } }
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

test("list pages with limit and cursor, newest first", function(ctx)
  local exa = ctx.exa
  local fresh = ctx.client{ api_key = "sk-list-" .. os.time() .. math.random(1e6), base_url = ctx.mock() }
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
  -- the last page's nextCursor (exa.null) passed on reads as "no cursor": the first page again
  local again = fresh.runs:list{ limit = 2, cursor = p3.nextCursor }
  assert.equals(ids[5], again.data[1].id)
  -- iter walks all pages lazily, newest first
  local seen = {}
  for run in fresh.runs:iter{ limit = 2 } do seen[#seen + 1] = run.id end
  assert.same({ ids[5], ids[4], ids[3], ids[2], ids[1] }, seen)
  -- and stops fetching when the loop stops
  local before = ctx.stats().requests
  for _ in fresh.runs:iter{ limit = 1 } do break end
  assert.equals(before + 2, ctx.stats().requests) -- one page + the stats probe itself
  for _, id in ipairs(ids) do fresh.runs:cancel(id) end
  fresh:close()
end)

test("lists an account with no runs", function(ctx)
  local exa = ctx.exa
  local empty = ctx.client{ api_key = "sk-empty-account", base_url = ctx.mock() }
  local p = empty.runs:list()
  assert.equals(0, #p.data)
  assert.is_false(p.hasMore)
  local n = 0
  for _ in empty.runs:iter() do n = n + 1 end
  assert.equals(0, n)
end)

test("events pages stored events; iter_events walks them all", function(ctx)
  local client = ctx.client{ api_key = KEY, base_url = ctx.mock() }
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

test("stream yields every event of a new run as it happens, ending after the terminal one", function(ctx)
  local client = ctx.client{ api_key = KEY, base_url = ctx.mock() }
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

test("stream reports a failed run through its terminal event", function(ctx)
  local exa = ctx.exa
  local c2 = ctx.client{ api_key = KEY, base_url = ctx.mock(), headers = { ["X-Mock-Fault"] = "run-fail" } }
  local last
  for ev in c2.runs:stream{ query = "will fail", effort = "low" } do last = ev end
  assert.equals("agent_run.failed", last.event)
  assert.equals("failed", last.data.status)
  c2:close()
end)

test("replay sends stored events after Last-Event-ID and ends", function(ctx)
  local client = ctx.client{ api_key = KEY, base_url = ctx.mock() }
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

test("replay of a run still going sends what is stored and ends", function(ctx)
  local exa = ctx.exa
  local c2 = ctx.client{ api_key = KEY, base_url = ctx.mock(), headers = { ["X-Mock-Fault"] = "run-seconds=600" } }
  local run = c2.runs:create{ query = "long" }
  local n = 0
  for _ in c2.runs:replay(run.id) do n = n + 1 end
  assert.is_true(n >= 1)
  c2.runs:cancel(run.id)
  c2:close()
end)

test("previousRunId continues from a completed run", function(ctx)
  local client = ctx.client{ api_key = KEY, base_url = ctx.mock() }
  local first = client.runs:create{ query = "first", effort = "low" }
  client.runs:wait(first.id, { interval = 0.05 })
  local second = client.runs:create{ query = "follow up", effort = "low", previousRunId = first.id }
  assert.equals(first.id, second.request.previousRunId)
end)

test("sends empty arrays as [] and keeps unknown fields", function(ctx)
  local json = ctx.json
  local client = ctx.client{ api_key = KEY, base_url = ctx.mock() }
  local run = client.runs:create{ query = "rows", effort = "low", input = { data = {}, exclusion = {} },
    dataSources = {}, metadata = {}, futureField = { a = 1 } }
  local req = client.runs:get(run.id).request
  assert.is_true(json.is_array(req.input.data))
  assert.is_true(json.is_array(req.input.exclusion))
  assert.is_true(json.is_array(req.dataSources))
  assert.same({ a = 1 }, req.futureField)
end)

test("structured output follows the outputSchema", function(ctx)
  local exa = ctx.exa
  local json = ctx.json
  local client = ctx.client{ api_key = KEY, base_url = ctx.mock() }
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

test("reuses one connection across pages (one connection pool per client)", function(ctx)
  local exa = ctx.exa
  local client = ctx.client{ api_key = KEY, base_url = ctx.mock() }
  local c2 = ctx.client{ api_key = KEY, base_url = ctx.mock() }
  for i = 1, 5 do client.runs:create{ query = "pool " .. i, effort = "low" } end
  -- each stats probe is a curl run of its own (the busted side's): one connection per probe
  local before = ctx.stats().connections
  local probe = ctx.stats().connections - before
  before = before + probe
  local p = c2.runs:list{ limit = 1 }
  for _ = 2, 5 do p = c2.runs:list{ limit = 1, cursor = p.nextCursor } end
  assert.equals(before + 1 + probe, ctx.stats().connections)
  before = before + 1 + probe
  -- iterating five pages lazily: no new connection at all
  local n = 0
  for _ in c2.runs:iter{ limit = 1 } do n = n + 1; if n == 5 then break end end
  assert.equals(5, n)
  assert.equals(before + probe, ctx.stats().connections)
  c2:close()
end, { only = "curl" })

test("keeps connections alive across pages (nginx's pool)", function(ctx)
  -- a simulator of its own, so the pool starts empty
  local c = ctx.client{ api_key = KEY, base_url = ctx.mock("pool") }
  for i = 1, 5 do c.runs:create{ query = "pool " .. i, effort = "low" } end -- fresh connections, not kept
  local before = ctx.stats("pool").connections
  local p = c.runs:list{ limit = 1 }
  for _ = 2, 5 do p = c.runs:list{ limit = 1, cursor = p.nextCursor } end
  local n = 0
  for _ in c.runs:iter{ limit = 1 } do n = n + 1; if n == 5 then break end end
  -- ten pages and the second stats probe on the first probe's kept-alive connection
  assert.equals(before, ctx.stats("pool").connections)
end, { only = "ngx" })

test("bearer auth works and the default x-api-key does too", function(ctx)
  local exa = ctx.exa
  local b = ctx.client{ api_key = "sk-only-this", base_url = ctx.mock("auth"), auth = "bearer" }
  assert.equals("list", b.runs:list().object)
  local x = ctx.client{ api_key = "sk-only-this", base_url = ctx.mock("auth") .. "/" }
  assert.equals("list", x.runs:list().object)
  b:close(); x:close()
end)

test("several betas are sent joined with a comma", function(ctx)
  local exa = ctx.exa
  local c2 = ctx.client{ api_key = KEY, base_url = ctx.mock(), betas = { "future-beta", "agent-2026-05-07" } }
  assert.equals("list", c2.runs:list().object)
  c2:close()
end)

test("a closed client raises a clear error", function(ctx)
  local exa = ctx.exa
  local c2 = ctx.client{ api_key = KEY, base_url = ctx.mock() }
  c2.runs:list()
  c2:close()
  local ok, e = pcall(c2.runs.list, c2.runs)
  assert.is_false(ok)
  assert.is_true(exa.is_error(e, "closed"))
end)

return {
  mocks = {
    main = { "--speed", "400", "--max-active", "50" },
    pool = { "--speed", "400", "--max-active", "50" },
    auth = { "--speed", "400", "--api-key", "sk-only-this" },
  },
  tests = T,
}
