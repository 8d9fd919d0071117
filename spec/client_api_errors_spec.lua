-- Every error code of the contract, as the simulator produces them, raised
-- as error objects; HTML bodies; transport failures; the key never leaks.
local exa = require "exa"
local mock = require "helpers.mock"

local function raises(fn, ...)
  local ok, e = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  assert.is_true(exa.is_error(e), "not an error object: " .. tostring(e))
  return e
end

describe("API errors", function()
  local srv, client
  local KEY = "sk-errors-spec"

  setup(function()
    srv = mock.start{ "--speed", "400", "--max-active", "1" }
    client = exa.new{ api_key = KEY, base_url = srv.url, max_retries = 0 }
  end)
  teardown(function()
    client:close()
    srv:stop()
  end)

  local function faulty(fault, o)
    o = o or {}
    o.api_key = o.api_key or KEY
    o.base_url = srv.url
    o.headers = { ["X-Mock-Fault"] = fault }
    return exa.new(o)
  end

  it("MISSING_BETA_HEADER when betas = {}", function()
    local c = exa.new{ api_key = KEY, base_url = srv.url, betas = {} }
    local e = raises(c.runs.list, c.runs)
    assert.equals(400, e.status)
    assert.equals("invalid_request", e.kind)
    assert.equals("INVALID_REQUEST", e.type)
    assert.equals("MISSING_BETA_HEADER", e.code)
    assert.matches("Exa%-Beta", e.message)
    assert.matches("^req_", e.request_id)
    assert.is_false(e.retryable)
  end)

  it("INVALID_BETA_HEADER for an unknown beta", function()
    local c = exa.new{ api_key = KEY, base_url = srv.url, betas = { "agent-1999-01-01" } }
    local e = raises(c.runs.get, c.runs, "agent_run_x")
    assert.equals("INVALID_BETA_HEADER", e.code)
    assert.equals(400, e.status)
  end)

  it("AUTHENTICATION_ERROR for a wrong key, without showing the key", function()
    local srv2 = mock.start{ "--speed", "400", "--api-key", "sk-right" }
    local c = exa.new{ api_key = "sk-wrong-SECRET", base_url = srv2.url }
    local e = raises(c.runs.list, c.runs)
    srv2:stop()
    assert.equals(401, e.status)
    assert.equals("authentication", e.kind)
    assert.equals("AUTHENTICATION_ERROR", e.type)
    assert.equals("TEAM_NOT_FOUND", e.code)
    assert.is_nil(tostring(e):find("SECRET", 1, true))
  end)

  it("RUN_NOT_FOUND", function()
    for _, m in ipairs{ "get", "cancel", "delete", "events" } do
      local e = raises(client.runs[m], client.runs, "agent_run_does_not_exist")
      assert.equals(404, e.status, m)
      assert.equals("not_found", e.kind, m)
      assert.equals("RUN_NOT_FOUND", e.code, m)
      assert.equals("NOT_FOUND", e.type, m)
    end
    local e = raises(function() for _ in client.runs:replay("agent_run_nope") do end end)
    assert.equals("RUN_NOT_FOUND", e.code)
  end)

  it("PREVIOUS_RUN_NOT_FOUND", function()
    local e = raises(client.runs.create, client.runs, { query = "q", previousRunId = "agent_run_gone" })
    assert.equals("PREVIOUS_RUN_NOT_FOUND", e.code)
    assert.equals(400, e.status)
  end)

  it("PREVIOUS_RUN_NOT_COMPLETED, then CONCURRENCY_LIMIT_REACHED (not retried by default)", function()
    local slow = faulty("run-seconds=600", { max_retries = 2 })
    local run = slow.runs:create{ query = "slow one" }
    local e = raises(slow.runs.create, slow.runs, { query = "q", previousRunId = run.id })
    assert.equals("PREVIOUS_RUN_NOT_COMPLETED", e.code)
    -- --max-active 1: a second active run is refused
    local before = srv:stats().requests
    e = raises(slow.runs.create, slow.runs, { query = "second" })
    local after = srv:stats().requests
    assert.equals(429, e.status)
    assert.equals("concurrency_limit", e.kind)
    assert.equals("CONCURRENCY_LIMIT_REACHED", e.code)
    assert.equals("RATE_LIMIT_ERROR", e.type)
    assert.is_true(e.retryable)
    assert.equals(1, e.attempts)
    assert.equals(before + 2, after) -- one create + the stats probe
    -- the same through stream
    e = raises(function() for _ in slow.runs:stream{ query = "third" } do end end)
    assert.equals("concurrency_limit", e.kind)
    slow.runs:cancel(run.id)
    slow:close()
  end)

  it("INVALID_OUTPUT_SCHEMA", function()
    local e = raises(client.runs.create, client.runs, { query = "q", outputSchema = { ["$ref"] = "#/nowhere" } })
    assert.equals("INVALID_OUTPUT_SCHEMA", e.code)
    assert.equals("invalid_request", e.kind)
  end)

  it("INVALID_REQUEST for what the client lets through (an effort this server does not know)", function()
    local e = raises(client.runs.create, client.runs, { query = "q", effort = "ultra" })
    assert.equals("INVALID_REQUEST", e.code)
    assert.equals("invalid_request", e.kind)
    assert.matches("effort", e.message)
  end)

  it("TIMEOUT as a 500 is final: not retried", function()
    local c = faulty("fail-first=1,status=500,code=TIMEOUT", { max_retries = 2 })
    local before = srv:stats().requests
    local e = raises(c.runs.list, c.runs)
    assert.equals(before + 2, srv:stats().requests)
    assert.equals(500, e.status)
    assert.equals("server", e.kind)
    assert.equals("TIMEOUT", e.code)
    assert.equals("SERVER_ERROR", e.type)
    assert.is_false(e.retryable)
    c:close()
  end)

  it("TIMEOUT as a run that exceeded its hour arrives as the failed event", function()
    local fast = mock.start{ "--speed", "200000" }
    local c = exa.new{ api_key = KEY, base_url = fast.url, headers = { ["X-Mock-Fault"] = "run-seconds=4000" } }
    local last
    for ev in c.runs:stream{ query = "too long" } do last = ev end
    fast:stop()
    assert.equals("agent_run.failed", last.event)
    assert.equals("TIMEOUT", last.data.error.code)
  end)

  it("SERVER_ERROR via fault, after the retries", function()
    local c = faulty("fail-first=9,status=500", { max_retries = 2, retry_base_delay = 0.01 })
    local e = raises(c.runs.list, c.runs)
    assert.equals("SERVER_ERROR", e.code)
    assert.equals("server", e.kind)
    assert.equals(3, e.attempts)
    assert.is_true(e.retryable)
    c:close()
  end)

  it("an HTML error page gives a clear error with a snippet, never a decoder crash", function()
    local c = faulty("html-error=502")
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
      check(raises(call))
    end
    -- a 502 from a proxy may hide a run the create made: the client looks for
    -- its marker, the lookup meets the same proxy, and the error says the
    -- outcome is unknown, with the proxy's error as its cause
    for _, call in ipairs{
      function() return c.runs:create{ query = "q" } end,
      function() for _ in c.runs:stream{ query = "q" } do end end,
    } do
      local e = raises(call)
      assert.equals("ambiguous", e.kind)
      assert.is_string(e.client_request_id)
      check(e.cause)
      assert.is_nil(e.message:find("<", 1, true))
    end
    c:close()
  end)

  it("a per-call timeout overrides the client's", function()
    local c = faulty("delay-ms=3000", { max_retries = 0 })
    local t0 = os.time()
    local e = raises(c.runs.list, c.runs, nil, { timeout = 0.2 })
    assert.equals("timeout", e.kind)
    assert.is_true(os.time() - t0 <= 2)
    c:close()
  end)

  it("transport failures are error objects too", function()
    local c = exa.new{ api_key = KEY, base_url = "http://127.0.0.1:9", max_retries = 0 }
    local e = raises(c.runs.list, c.runs)
    assert.equals("connect", e.kind)
    assert.is_true(e.retryable)
    assert.matches("connect", tostring(e))
    local d = exa.new{ api_key = KEY, base_url = "http://no-such-host.invalid", max_retries = 0 }
    e = raises(d.runs.get, d.runs, "agent_run_1")
    assert.equals("dns", e.kind)
    local slowc = faulty("delay-ms=3000", { timeout = 0.2, max_retries = 0 })
    e = raises(slowc.runs.list, slowc.runs)
    assert.equals("timeout", e.kind)
  end)
end)

describe("the API key never leaks", function()
  local srv
  local KEY = "sk_live_Z9y8X7w6V5"
  setup(function() srv = mock.start{ "--speed", "400" } end)
  teardown(function() srv:stop() end)

  local function clean(s)
    assert.is_nil(tostring(s):find(KEY, 1, true), "key leaked in: " .. tostring(s))
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

  it("not in tostring(client) nor in any field reachable from it", function()
    local c = exa.new{ api_key = KEY, base_url = srv.url }
    clean(tostring(c))
    clean(dump(c))
    clean(tostring(c.runs))
  end)

  it("not in errors whose URL or server message echoes it", function()
    local c = exa.new{ api_key = KEY, base_url = srv.url, max_retries = 0 }
    local seen = {}
    local function check(fn, ...)
      local ok, e = pcall(fn, ...)
      assert.is_false(ok)
      assert.is_true(exa.is_error(e))
      seen[#seen + 1] = e
      clean(tostring(e))
      clean(dump(e))
    end
    check(c.runs.get, c.runs, KEY)                                          -- 404 "Run <id> was not found", URL
    check(c.runs.create, c.runs, { query = KEY, previousRunId = KEY })      -- 400 echoing previousRunId
    check(c.runs.list, c.runs, { cursor = KEY })                            -- 400 echoing the cursor
    check(c.runs.get, c.runs, KEY .. "!")                                   -- validation message with the value
    local ok, e = pcall(function() for _ in c.runs:replay(KEY) do end end)
    assert.is_false(ok)
    clean(tostring(e))
    -- a key in the base URL: DNS failure messages name the host
    local d = exa.new{ api_key = KEY, base_url = "http://" .. KEY .. ".invalid", max_retries = 0 }
    clean(tostring(d))
    check(d.runs.list, d.runs)
    local u = exa.new{ api_key = KEY, base_url = "http://user:" .. KEY .. "@127.0.0.1:9", max_retries = 0 }
    clean(tostring(u))
    check(u.runs.list, u.runs)
  end)

  it("not in what on_retry sees", function()
    local msgs = {}
    local c = exa.new{ api_key = KEY, base_url = srv.url, retry_base_delay = 0.01,
      headers = { ["X-Mock-Fault"] = "fail-first=1,status=503" },
      on_retry = function(e) msgs[#msgs + 1] = tostring(e) .. dump(e) end }
    pcall(c.runs.get, c.runs, KEY)
    assert.equals(1, #msgs)
    for _, m in ipairs(msgs) do clean(m) end
  end)
end)
