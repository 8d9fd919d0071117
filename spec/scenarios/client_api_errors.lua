-- Every error code of the contract, as the simulator produces them, raised
-- as error objects; HTML bodies; transport failures and timeouts; the key
-- never leaks. Through both backends (helpers/scenarios.lua):
-- spec/client_api_errors_spec.lua runs it.
local assert = require "luassert"

local T = {}
local function test(name, fn, opts) T[#T + 1] = { name, fn, opts } end

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

-- a client whose requests carry a simulator fault (max_retries: the client's default unless given)
local function faulty(ctx, fault, o)
  o = o or {}
  o.api_key = o.api_key or KEY
  o.base_url = o.base_url or ctx.mock()
  o.headers = { ["X-Mock-Fault"] = fault }
  return ctx.client(o)
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

test("INVALID_REQUEST for what the client lets through (an effort this server does not know)", function(ctx)
  local c = client(ctx)
  local e = raises(ctx, c.runs.create, c.runs, { query = "q", effort = "ultra" })
  assert.equals("INVALID_REQUEST", e.code)
  assert.equals("invalid_request", e.kind)
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
  local function check(e)
    assert.equals(502, e.status)
    assert.equals("server", e.kind)
    assert.is_nil(e.code)
    assert.matches("non%-JSON", e.message)
    assert.matches("text/html", e.message)
    assert.matches("502", e.body_snippet)
    assert.is_nil(e.message:find("<", 1, true))
    assert.is_true(#tostring(e) < 500)
  end
  for _, call in ipairs{
    function() return c.runs:list() end,
    function() for _ in c.runs:replay("agent_run_x") do end end,
  } do
    check(raises(ctx, call))
  end
  -- a 502 from a proxy may hide a run the create made: the client looks for
  -- its marker, the lookup meets the same proxy, and the error says the
  -- outcome is unknown, with the proxy's error as its cause
  for _, call in ipairs{
    function() return c.runs:create{ query = "q" } end,
    function() for _ in c.runs:stream{ query = "q" } do end end,
  } do
    local e = raises(ctx, call)
    assert.equals("ambiguous", e.kind)
    assert.is_string(e.client_request_id)
    check(e.cause)
    assert.is_nil(e.message:find("<", 1, true))
  end
end)

test("a per-call timeout overrides the client's; the client's applies otherwise", function(ctx)
  local c = faulty(ctx, "delay-ms=3000", { max_retries = 0 })
  local t0 = ctx.now()
  local e = raises(ctx, c.runs.list, c.runs, nil, { timeout = 0.2 })
  assert.equals("timeout", e.kind)
  local slowc = faulty(ctx, "delay-ms=3000", { timeout = 0.2, max_retries = 0 })
  e = raises(ctx, slowc.runs.list, slowc.runs)
  assert.equals("timeout", e.kind)
  assert.is_true(ctx.now() - t0 < 2)
end)

test("a silent stream ends with a timeout after stream_idle_timeout", function(ctx)
  -- a run that lasts long, keep-alive comments far apart: the stream goes quiet
  local c = faulty(ctx, "run-seconds=600;keepalive-ms=60000", { stream_idle_timeout = 0.3,
    base_url = ctx.mock("slow"), max_retries = 0 })
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

-- the API key never leaks
local LEAK_KEY = "sk_live_Z9y8X7w6V5"
local function clean(s)
  assert.is_nil(tostring(s):find(LEAK_KEY, 1, true), "key leaked in: " .. tostring(s))
  assert.is_nil(tostring(s):find("Z9y8X7w6V5", 1, true), "key leaked in: " .. tostring(s))
end

local function dump(v, seen)
  seen = seen or {}
  if type(v) ~= "table" or seen[v] then return tostring(v) end
  seen[v] = true
  local parts = {}
  for k, x in pairs(v) do parts[#parts + 1] = tostring(k) .. "=" .. dump(x, seen) end
  local mt = getmetatable(v)
  if type(mt) == "table" then parts[#parts + 1] = "mt=" .. dump(mt, seen) end
  return "{" .. table.concat(parts, ",") .. "}"
end

test("the key is not in tostring(client) nor in any field reachable from it", function(ctx)
  local c = client(ctx, { api_key = LEAK_KEY })
  clean(tostring(c))
  clean(dump(c))
  clean(tostring(c.runs))
end)

test("the key is not in errors whose URL or server message echoes it", function(ctx)
  local key = LEAK_KEY
  local c = client(ctx, { api_key = key })
  local function check(fn, ...)
    local e = raises(ctx, fn, ...)
    clean(tostring(e))
    clean(dump(e))
  end
  check(c.runs.get, c.runs, key)                                          -- 404 "Run <id> was not found", URL
  check(c.runs.create, c.runs, { query = key, previousRunId = key })      -- 400 echoing previousRunId
  check(c.runs.list, c.runs, { cursor = key })                            -- 400 echoing the cursor
  check(c.runs.get, c.runs, key .. "!")                                   -- validation message with the value
  clean(tostring(raises(ctx, function() for _ in c.runs:replay(key) do end end)))
  -- a key in the base URL: DNS failure messages name the host
  local d = client(ctx, { api_key = key, base_url = "http://" .. key .. ".invalid" })
  clean(tostring(d))
  check(d.runs.list, d.runs)
  local u = client(ctx, { api_key = key, base_url = "http://user:" .. key .. "@127.0.0.1:9" })
  clean(tostring(u))
  check(u.runs.list, u.runs)
end)

test("the key is not in what on_retry sees", function(ctx)
  local msgs = {}
  local c = client(ctx, { api_key = LEAK_KEY, retry_base_delay = 0.01, max_retries = 2,
    headers = { ["X-Mock-Fault"] = "fail-first=1,status=503" },
    on_retry = function(e) msgs[#msgs + 1] = tostring(e) .. dump(e) end })
  pcall(c.runs.get, c.runs, LEAK_KEY)
  assert.equals(1, #msgs)
  for _, m in ipairs(msgs) do clean(m) end
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
