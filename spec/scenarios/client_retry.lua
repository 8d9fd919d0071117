-- Retries through both backends (helpers/scenarios.lua): which failures are
-- retried for which calls, how many attempts reach the server, and the delays
-- asked for (recorded through the sleep option: behaviour, not timing).
-- spec/client_retry_spec.lua runs it.
local assert = require "luassert"

local T = {}
local function test(name, fn, opts) T[#T + 1] = { name, fn, opts } end

local n = 0
-- a fresh key per client: the simulator counts fail-first attempts per key
-- (inside nginx this file is loaded per test, so n alone does not tell keys apart)
local function client(ctx, fault, o)
  n = n + 1
  o = o or {}
  local rec = { slept = {}, retries = {} }
  o.api_key = "sk-retry-" .. n .. "-" .. ctx.now() .. "-" .. math.random(1e6)
  o.base_url = o.base_url or ctx.mock()
  o.headers = fault and { ["X-Mock-Fault"] = fault } or nil
  o.sleep = function(s) rec.slept[#rec.slept + 1] = s end
  o.on_retry = function(e, attempt, delay)
    rec.retries[#rec.retries + 1] = { e = e, attempt = attempt, delay = delay }
  end
  return ctx.client(o), rec
end

test("retries a GET on 503 and succeeds; every attempt reaches the server", function(ctx)
  local c, rec = client(ctx, "fail-first=2,status=503")
  local before = ctx.stats().requests
  local page = c.runs:list()
  assert.equals("list", page.object)
  assert.equals(before + 3 + 1, ctx.stats().requests) -- 3 attempts + this probe
  assert.equals(2, #rec.retries)
  assert.equals(1, rec.retries[1].attempt)
  assert.equals(2, rec.retries[2].attempt)
  assert.equals(503, rec.retries[1].e.status)
  -- exponential backoff with jitter: attempt 1 in (0.25, 0.5), attempt 2 in (0.5, 1);
  -- the bare delays 0.5 and 1 (no jitter) are outside
  assert.is_true(rec.slept[1] > 0.25 and rec.slept[1] < 0.5, tostring(rec.slept[1]))
  assert.is_true(rec.slept[2] > 0.5 and rec.slept[2] < 1, tostring(rec.slept[2]))
end)

test("jitters the backoff: the first delays of 6 calls are inside (0.25, 0.5) and not all one value", function(ctx)
  local delays, distinct = {}, {}
  for i = 1, 6 do
    local c, rec = client(ctx, "fail-first=1,status=503")
    c.runs:list()
    assert.equals(1, #rec.slept)
    delays[i] = rec.slept[1]
    assert.is_true(delays[i] > 0.25 and delays[i] < 0.5, tostring(delays[i]))
    distinct[delays[i]] = true
  end
  local n = 0
  for _ in pairs(distinct) do n = n + 1 end
  assert.is_true(n > 1, "every delay was " .. tostring(delays[1]))
end)

test("honours Retry-After", function(ctx)
  local c, rec = client(ctx, "fail-first=1,status=503,retry-after=1")
  c.runs:list()
  assert.same({ 1 }, rec.slept)
end)

test("gives up when Retry-After asks for longer than max_retry_after", function(ctx)
  local c, rec = client(ctx, "fail-first=1,status=503,retry-after=120")
  local ok, e = pcall(c.runs.list, c.runs)
  assert.is_false(ok)
  assert.equals(120, e.retry_after)
  assert.equals(1, e.attempts)
  assert.equals(0, #rec.slept)
end)

test("max_retry_after sets how long a Retry-After may ask for", function(ctx)
  local c, rec = client(ctx, "fail-first=1,status=503,retry-after=1", { max_retry_after = 0.5 })
  local ok, e = pcall(c.runs.list, c.runs)
  assert.is_false(ok)
  assert.equals(1, e.retry_after)
  assert.equals(1, e.attempts)
  assert.equals(0, #rec.slept)
end)

test("stops after max_retries and reports the attempts", function(ctx)
  local c = client(ctx, "fail-first=10,status=502", { max_retries = 3 })
  local before = ctx.stats().requests
  local ok, e = pcall(c.runs.list, c.runs)
  assert.is_false(ok)
  assert.equals(4, e.attempts)
  assert.equals(before + 4 + 1, ctx.stats().requests)
  local c0 = client(ctx, "fail-first=10,status=502", { max_retries = 0 })
  ok, e = pcall(c0.runs.list, c0.runs)
  assert.equals(1, e.attempts)
end)

test("per-call max_retries overrides the client's", function(ctx)
  local c = client(ctx, "fail-first=10,status=503")
  local ok, e = pcall(c.runs.list, c.runs, nil, { max_retries = 1 })
  assert.is_false(ok)
  assert.equals(2, e.attempts)
end)

test("retries get, cancel, delete, events and replay (safe to repeat)", function(ctx)
  -- runs belong to a key, and the simulator counts fail-first per (key, method, path)
  local key = "sk-retry-shared-" .. ctx.now() .. "-" .. math.random(1e6)
  local plain = ctx.client{ api_key = key, base_url = ctx.mock() }
  local run = plain.runs:create{ query = "q", effort = "low" }
  -- a finished run: a replay of a running one may rightly replay again when
  -- the run ends between the replay and its status check (one more retry)
  plain.runs:wait(run.id, { interval = 0.05 })
  local retried = 0
  local faulty = ctx.client{ api_key = key, base_url = ctx.mock(), sleep = function() end,
    headers = { ["X-Mock-Fault"] = "fail-first=1,status=500" },
    on_retry = function() retried = retried + 1 end }
  assert.equals(run.id, faulty.runs:get(run.id).id)
  assert.equals("list", faulty.runs:events(run.id).object)
  local n_ev = 0
  for _ in faulty.runs:replay(run.id) do n_ev = n_ev + 1 end
  assert.is_true(n_ev >= 1)
  assert.equals(run.id, faulty.runs:cancel(run.id).id)
  assert.is_true(faulty.runs:delete(run.id).deleted)
  assert.equals(4, retried) -- get, events (same path as replay: counted once), cancel, delete
end)

-- Fixed for the exactly-once create (issue 7): a create whose outcome is
-- unknown is no longer given up on; it is resolved through its marker
-- (spec/exactly_once_spec.lua). Without a marker the old rule stands.
test("does not retry create on a 5xx without its marker (a run may exist)", function(ctx)
  local c, rec = client(ctx, "fail-first=1,status=503", { create_marker = false })
  local before = ctx.stats().requests
  local ok, e = pcall(c.runs.create, c.runs, { query = "q" })
  assert.is_false(ok)
  assert.equals(503, e.status)
  assert.equals(1, e.attempts)
  assert.equals(0, #rec.retries)
  assert.matches("not sent again without its marker", e.message)
  assert.equals(before + 1 + 1, ctx.stats().requests)
end)

test("a create answered 503 looks for its marker, finds none, and is sent once more", function(ctx)
  local c, rec = client(ctx, "fail-first=1,status=503")
  local runs_before = ctx.stats().runs
  local run = c.runs:create{ query = "q 503" }
  assert.equals("q 503", run.request.query)
  -- two retries: the create's, and the lookup's own list (the fault refuses
  -- the first attempt of every path)
  assert.equals(2, #rec.retries)
  assert.equals("POST", rec.retries[1].e.method)
  assert.equals("GET", rec.retries[2].e.method)
  assert.equals(runs_before + 1, ctx.stats().runs)
end)

test("does not retry create when the connection drops after the request, without its marker", function(ctx)
  local c = client(ctx, "fail-first=1,drop", { create_marker = false })
  local ok, e = pcall(c.runs.create, c.runs, { query = "q" })
  assert.is_false(ok)
  assert.equals(1, e.attempts)
  assert.is_true(e.kind == "transport" or e.kind == "closed", e.kind)
  -- the same drop on a GET is retried
  local g = client(ctx, "fail-first=1,drop")
  assert.equals("list", g.runs:list().object)
end)

test("a create whose answer is lost on a warm pool finds its run by marker: one run", function(ctx)
  local c = client(ctx, "lose-answer=1")
  for _ = 1, 3 do c.runs:list() end -- idle connections wait in the pool
  local runs_before = ctx.stats().runs
  local run = c.runs:create{ query = "lost answer", effort = "low" }
  assert.equals("lost answer", run.request.query)
  assert.equals(runs_before + 1, ctx.stats().runs)
end)

test("does not retry create when the connection drops after the request, even with a warm pool", function(ctx)
  local warm = client(ctx)
  for _ = 1, 3 do warm.runs:list() end -- idle connections wait in the pool
  local c = client(ctx, "fail-first=1,drop", { create_marker = false })
  local before = ctx.stats().requests
  local ok, e = pcall(c.runs.create, c.runs, { query = "q" })
  assert.is_false(ok)
  assert.equals(1, e.attempts)
  assert.is_true(e.kind == "transport" or e.kind == "closed", e.kind)
  assert.equals(before + 1 + 1, ctx.stats().requests) -- sent once: never re-sent on another connection
  local g = client(ctx, "fail-first=1,drop")
  assert.equals("list", g.runs:list().object)
end)

test("retries create on connection failures (nothing was sent)", function(ctx)
  local c, rec = client(ctx, nil, { base_url = "http://127.0.0.1:9" })
  local ok, e = pcall(c.runs.create, c.runs, { query = "q" })
  assert.is_false(ok)
  assert.equals("connect", e.kind)
  assert.equals(3, e.attempts)
  assert.equals(2, #rec.retries)
end)

test("does not retry CONCURRENCY_LIMIT_REACHED by default, does when asked", function(ctx)
  local c, rec = client(ctx, "fail-first=1,status=429")
  local ok, e = pcall(c.runs.create, c.runs, { query = "q", effort = "low" })
  assert.is_false(ok)
  assert.equals("concurrency_limit", e.kind)
  assert.equals(0, #rec.retries)
  local r, rec2 = client(ctx, "fail-first=1,status=429,retry-after=2", { retry_concurrency_limit = true })
  local run = r.runs:create{ query = "q", effort = "low" }
  assert.matches("^agent_run_", run.id)
  assert.same({ 2 }, rec2.slept)
end)

test("retries an HTML 502 from a proxy on GET", function(ctx)
  local c, rec = client(ctx, "fail-first=1,status=502,html")
  assert.equals("list", c.runs:list().object)
  assert.equals(1, #rec.retries)
  assert.matches("non%-JSON", rec.retries[1].e.message)
end)

test("backoff sleeps yield to nginx (the backend's sleep is ngx.sleep)", function(ctx)
  -- the default sleep: a retry's backoff lets another light thread run meanwhile
  local c = ctx.client{ api_key = "sk-retry-sleep-" .. math.random(1e6), base_url = ctx.mock(),
    retry_base_delay = 1, headers = { ["X-Mock-Fault"] = "fail-first=1,status=503" } }
  local ticks = 0
  local ticker = ngx.thread.spawn(function()
    for _ = 1, 500 do
      ticks = ticks + 1
      ngx.sleep(0.01)
    end
  end)
  assert.equals("list", c.runs:list().object)
  local during = ticks
  ngx.thread.kill(ticker)
  -- the backoff is 0.5 to 1 s: about 50 to 100 ticks of 10 ms if it yields, 1 if it blocks
  assert.is_true(during >= 25, "ticks during the backoff: " .. during)
end, { only = "ngx" })

return {
  mocks = { main = { "--speed", "400", "--max-active", "100" } },
  tests = T,
}
