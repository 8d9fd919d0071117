-- Every error code of the contract, HTML bodies, transport failures and
-- timeouts through the ngx backend, inside nginx, with the expectations of
-- spec/client_api_errors_spec.lua; the key never leaks.
local assert = require "luassert"

local T = {}
local function test(name, fn) T[#T + 1] = { name, fn } end

local KEY = "sk-errors-spec"

local function raises(ctx, fn, ...)
  local ok, e = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  assert.is_true(ctx.exa.is_error(e), "not an error object: " .. tostring(e))
  return e
end

local function client(ctx, o)
  o = o or {}
  o.api_key = o.api_key or KEY
  o.base_url = o.base_url or ctx.mock()
  if o.max_retries == nil then o.max_retries = 0 end
  return ctx.client(o)
end

local function faulty(ctx, fault, o)
  o = o or {}
  o.headers = { ["X-Mock-Fault"] = fault }
  return client(ctx, o)
end

test("MISSING_BETA_HEADER when betas = {}", function(ctx)
  local c = client(ctx, { betas = {} })
  local e = raises(ctx, c.runs.list, c.runs)
  assert.equals(400, e.status)
  assert.equals("invalid_request", e.kind)
  assert.equals("INVALID_REQUEST", e.type)
  assert.equals("MISSING_BETA_HEADER", e.code)
  assert.matches("Exa%-Beta", e.message)
  assert.matches("^req_", e.request_id)
  assert.is_false(e.retryable)
end)

test("INVALID_BETA_HEADER for an unknown beta", function(ctx)
  local c = client(ctx, { betas = { "agent-1999-01-01" } })
  local e = raises(ctx, c.runs.get, c.runs, "agent_run_x")
  assert.equals("INVALID_BETA_HEADER", e.code)
  assert.equals(400, e.status)
end)

test("AUTHENTICATION_ERROR for a wrong key, without showing the key", function(ctx)
  local c = client(ctx, { api_key = "sk-wrong-SECRET", base_url = ctx.mock("auth") })
  local e = raises(ctx, c.runs.list, c.runs)
  assert.equals(401, e.status)
  assert.equals("authentication", e.kind)
  assert.equals("AUTHENTICATION_ERROR", e.type)
  assert.equals("TEAM_NOT_FOUND", e.code)
  assert.is_nil(tostring(e):find("SECRET", 1, true))
end)

test("RUN_NOT_FOUND from get, cancel, delete, events and replay", function(ctx)
  local c = client(ctx)
  for _, m in ipairs{ "get", "cancel", "delete", "events" } do
    local e = raises(ctx, c.runs[m], c.runs, "agent_run_does_not_exist")
    assert.equals(404, e.status, m)
    assert.equals("not_found", e.kind, m)
    assert.equals("RUN_NOT_FOUND", e.code, m)
    assert.equals("NOT_FOUND", e.type, m)
  end
  local e = raises(ctx, function() for _ in c.runs:replay("agent_run_nope") do end end)
  assert.equals("RUN_NOT_FOUND", e.code)
end)

test("PREVIOUS_RUN_NOT_FOUND", function(ctx)
  local c = client(ctx)
  local e = raises(ctx, c.runs.create, c.runs, { query = "q", previousRunId = "agent_run_gone" })
  assert.equals("PREVIOUS_RUN_NOT_FOUND", e.code)
  assert.equals(400, e.status)
end)

test("PREVIOUS_RUN_NOT_COMPLETED, then CONCURRENCY_LIMIT_REACHED (not retried by default)", function(ctx)
  local slow = faulty(ctx, "run-seconds=600", { max_retries = 2, base_url = ctx.mock("one") })
  local run = slow.runs:create{ query = "slow one" }
  local e = raises(ctx, slow.runs.create, slow.runs, { query = "q", previousRunId = run.id })
  assert.equals("PREVIOUS_RUN_NOT_COMPLETED", e.code)
  local before = ctx.stats("one").requests
  e = raises(ctx, slow.runs.create, slow.runs, { query = "second" })
  local after = ctx.stats("one").requests
  assert.equals(429, e.status)
  assert.equals("concurrency_limit", e.kind)
  assert.equals("CONCURRENCY_LIMIT_REACHED", e.code)
  assert.equals("RATE_LIMIT_ERROR", e.type)
  assert.is_true(e.retryable)
  assert.equals(1, e.attempts)
  assert.equals(before + 2, after) -- one create + the stats probe
  e = raises(ctx, function() for _ in slow.runs:stream{ query = "third" } do end end)
  assert.equals("concurrency_limit", e.kind)
  slow.runs:cancel(run.id)
end)

test("INVALID_OUTPUT_SCHEMA", function(ctx)
  local c = client(ctx)
  local e = raises(ctx, c.runs.create, c.runs, { query = "q", outputSchema = { ["$ref"] = "#/nowhere" } })
  assert.equals("INVALID_OUTPUT_SCHEMA", e.code)
  assert.equals("invalid_request", e.kind)
end)

test("INVALID_REQUEST for an effort this server does not know", function(ctx)
  local c = client(ctx)
  local e = raises(ctx, c.runs.create, c.runs, { query = "q", effort = "ultra" })
  assert.equals("INVALID_REQUEST", e.code)
  assert.matches("effort", e.message)
end)

test("TIMEOUT as a 500 is final: not retried", function(ctx)
  local c = faulty(ctx, "fail-first=1,status=500,code=TIMEOUT", { max_retries = 2 })
  local before = ctx.stats().requests
  local e = raises(ctx, c.runs.list, c.runs)
  assert.equals(before + 2, ctx.stats().requests)
  assert.equals(500, e.status)
  assert.equals("server", e.kind)
  assert.equals("TIMEOUT", e.code)
  assert.equals("SERVER_ERROR", e.type)
  assert.is_false(e.retryable)
end)

test("TIMEOUT as a run that exceeded its hour arrives as the failed event", function(ctx)
  local c = client(ctx, { base_url = ctx.mock("fast"), headers = { ["X-Mock-Fault"] = "run-seconds=4000" } })
  local last
  for ev in c.runs:stream{ query = "too long" } do last = ev end
  assert.equals("agent_run.failed", last.event)
  assert.equals("TIMEOUT", last.data.error.code)
end)

test("SERVER_ERROR via fault, after the retries", function(ctx)
  local c = faulty(ctx, "fail-first=9,status=500", { max_retries = 2, retry_base_delay = 0.01 })
  local e = raises(ctx, c.runs.list, c.runs)
  assert.equals("SERVER_ERROR", e.code)
  assert.equals("server", e.kind)
  assert.equals(3, e.attempts)
  assert.is_true(e.retryable)
end)

test("an HTML error page gives a clear error with a snippet, never a decoder crash", function(ctx)
  local c = faulty(ctx, "html-error=502")
  for _, call in ipairs{
    function() return c.runs:list() end,
    function() return c.runs:create{ query = "q" } end,
    function() for _ in c.runs:stream{ query = "q" } do end end,
    function() for _ in c.runs:replay("agent_run_x") do end end,
  } do
    local e = raises(ctx, call)
    assert.equals(502, e.status)
    assert.equals("server", e.kind)
    assert.is_nil(e.code)
    assert.matches("non%-JSON", e.message)
    assert.matches("text/html", e.message)
    assert.matches("502", e.body_snippet)
    assert.is_nil(e.message:find("<", 1, true))
    assert.is_true(#tostring(e) < 500)
  end
end)

test("a per-call timeout overrides the client's; the client's applies otherwise", function(ctx)
  local c = faulty(ctx, "delay-ms=3000")
  local t0 = ngx.now()
  local e = raises(ctx, c.runs.list, c.runs, nil, { timeout = 0.2 })
  assert.equals("timeout", e.kind)
  local slowc = faulty(ctx, "delay-ms=3000", { timeout = 0.2 })
  e = raises(ctx, slowc.runs.list, slowc.runs)
  assert.equals("timeout", e.kind)
  ngx.update_time()
  assert.is_true(ngx.now() - t0 < 2)
end)

test("a silent stream ends with a timeout after stream_idle_timeout", function(ctx)
  -- a run that lasts long, keep-alive comments far apart: the stream goes quiet
  local c = faulty(ctx, "run-seconds=600;keepalive-ms=60000", { stream_idle_timeout = 0.3,
    base_url = ctx.mock("slow") })
  local got, id = 0, nil
  local e = raises(ctx, function()
    for ev in c.runs:stream({ query = "quiet", effort = "xhigh" }, { resume = false }) do
      got = got + 1
      id = id or ev.data.id
    end
  end)
  assert.equals("timeout", e.kind)
  assert.matches("idle_timeout", e.message)
  assert.is_true(got >= 1)
  client(ctx, { base_url = ctx.mock("slow") }).runs:cancel(id)
end)

test("transport failures are error objects too", function(ctx)
  local c = client(ctx, { base_url = "http://127.0.0.1:9" })
  local e = raises(ctx, c.runs.list, c.runs)
  assert.equals("connect", e.kind)
  assert.is_true(e.retryable)
  assert.matches("connect", tostring(e))
  local d = client(ctx, { base_url = "http://no-such-host.invalid" })
  e = raises(ctx, d.runs.get, d.runs, "agent_run_1")
  assert.equals("dns", e.kind)
end)

test("the key is not in errors whose URL or server message echoes it", function(ctx)
  local key = "sk_live_Z9y8X7w6V5"
  local function clean(s)
    assert.is_nil(tostring(s):find(key, 1, true), "key leaked in: " .. tostring(s))
    assert.is_nil(tostring(s):find("Z9y8X7w6V5", 1, true), "key leaked in: " .. tostring(s))
  end
  local c = client(ctx, { api_key = key })
  clean(tostring(raises(ctx, c.runs.get, c.runs, key)))
  clean(tostring(raises(ctx, c.runs.create, c.runs, { query = key, previousRunId = key })))
  clean(tostring(raises(ctx, c.runs.list, c.runs, { cursor = key })))
  clean(tostring(raises(ctx, function() for _ in c.runs:replay(key) do end end)))
  local d = client(ctx, { api_key = key, base_url = "http://" .. key .. ".invalid" })
  clean(tostring(raises(ctx, d.runs.list, d.runs)))
  local u = client(ctx, { api_key = key, base_url = "http://user:" .. key .. "@127.0.0.1:9" })
  clean(tostring(raises(ctx, u.runs.list, u.runs)))
end)

return {
  mocks = {
    main = { "--speed", "400", "--max-active", "50" },
    one = { "--speed", "400", "--max-active", "1" },
    auth = { "--speed", "400", "--api-key", "sk-right" },
    fast = { "--speed", "200000" },
    slow = { "--speed", "1", "--max-active", "50" },
  },
  tests = T,
}
