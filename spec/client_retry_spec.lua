-- Retries: which failures are retried for which calls, how many attempts,
-- and the delays asked for (recorded through the sleep option: behaviour,
-- not timing).
local exa = require "exa"
local mock = require "helpers.mock"

describe("retries", function()
  local srv
  local n = 0
  setup(function() srv = mock.start{ "--speed", "400", "--max-active", "100" } end)
  teardown(function() srv:stop() end)

  -- a fresh key per client: the simulator counts fail-first attempts per key
  local function client(fault, o)
    n = n + 1
    o = o or {}
    local rec = { slept = {}, retries = {} }
    o.api_key = "sk-retry-" .. n .. "-" .. os.time()
    o.base_url = o.base_url or srv.url
    o.headers = fault and { ["X-Mock-Fault"] = fault } or nil
    o.sleep = function(s) rec.slept[#rec.slept + 1] = s end
    o.on_retry = function(e, attempt, delay) rec.retries[#rec.retries + 1] = { e = e, attempt = attempt, delay = delay } end
    return exa.new(o), rec
  end

  local function requests() return srv:stats().requests end

  it("retries a GET on 503 and succeeds; every attempt reaches the server", function()
    local c, rec = client("fail-first=2,status=503")
    local before = requests()
    local page = c.runs:list()
    assert.equals("list", page.object)
    assert.equals(before + 3 + 1, requests()) -- 3 attempts + this probe
    assert.equals(2, #rec.retries)
    assert.equals(1, rec.retries[1].attempt)
    assert.equals(2, rec.retries[2].attempt)
    assert.equals(503, rec.retries[1].e.status)
    -- exponential backoff with jitter: attempt 1 in (0.25, 0.5), attempt 2 in (0.5, 1);
    -- the bare delays 0.5 and 1 (no jitter) are outside
    assert.is_true(rec.slept[1] > 0.25 and rec.slept[1] < 0.5, tostring(rec.slept[1]))
    assert.is_true(rec.slept[2] > 0.5 and rec.slept[2] < 1, tostring(rec.slept[2]))
  end)

  it("jitters the backoff: the first delays of 6 calls are inside (0.25, 0.5) and not all one value", function()
    local delays, distinct = {}, {}
    for i = 1, 6 do
      local c, rec = client("fail-first=1,status=503")
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

  it("honours Retry-After", function()
    local c, rec = client("fail-first=1,status=503,retry-after=1")
    c.runs:list()
    assert.same({ 1 }, rec.slept)
  end)

  it("gives up when Retry-After asks for longer than max_retry_after", function()
    local c, rec = client("fail-first=1,status=503,retry-after=120")
    local ok, e = pcall(c.runs.list, c.runs)
    assert.is_false(ok)
    assert.equals(120, e.retry_after)
    assert.equals(1, e.attempts)
    assert.equals(0, #rec.slept)
  end)

  it("max_retry_after sets how long a Retry-After may ask for", function()
    local c, rec = client("fail-first=1,status=503,retry-after=1", { max_retry_after = 0.5 })
    local ok, e = pcall(c.runs.list, c.runs)
    assert.is_false(ok)
    assert.equals(1, e.retry_after)
    assert.equals(1, e.attempts)
    assert.equals(0, #rec.slept)
  end)

  it("stops after max_retries and reports the attempts", function()
    local c = client("fail-first=10,status=502", { max_retries = 3 })
    local before = requests()
    local ok, e = pcall(c.runs.list, c.runs)
    assert.is_false(ok)
    assert.equals(4, e.attempts)
    assert.equals(before + 4 + 1, requests())
    local c0 = client("fail-first=10,status=502", { max_retries = 0 })
    ok, e = pcall(c0.runs.list, c0.runs)
    assert.equals(1, e.attempts)
  end)

  it("per-call max_retries overrides the client's", function()
    local c = client("fail-first=10,status=503")
    local ok, e = pcall(c.runs.list, c.runs, nil, { max_retries = 1 })
    assert.is_false(ok)
    assert.equals(2, e.attempts)
  end)

  it("retries get, cancel, delete, events and replay (safe to repeat)", function()
    -- runs belong to a key, and the simulator counts fail-first per (key, method, path)
    local key = "sk-retry-shared-" .. os.time() .. "-" .. math.random(1e6)
    local plain = exa.new{ api_key = key, base_url = srv.url }
    local run = plain.runs:create{ query = "q", effort = "low" }
    -- a finished run: a replay of a running one may rightly replay again when
    -- the run ends between the replay and its status check (one more retry)
    plain.runs:wait(run.id, { interval = 0.05 })
    local retried = 0
    local faulty = exa.new{ api_key = key, base_url = srv.url, sleep = function() end,
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
  it("does not retry create on a 5xx without its marker (a run may exist)", function()
    local c, rec = client("fail-first=1,status=503", { create_marker = false })
    local before = requests()
    local ok, e = pcall(c.runs.create, c.runs, { query = "q" })
    assert.is_false(ok)
    assert.equals(503, e.status)
    assert.equals(1, e.attempts)
    assert.equals(0, #rec.retries)
    assert.matches("not sent again without its marker", e.message)
    assert.equals(before + 1 + 1, requests())
  end)

  it("a create answered 503 looks for its marker, finds none, and is sent once more", function()
    local c, rec = client("fail-first=1,status=503")
    local runs_before = srv:stats().runs
    local run = c.runs:create{ query = "q 503" }
    assert.equals("q 503", run.request.query)
    -- two retries: the create's, and the lookup's own list (the fault refuses
    -- the first attempt of every path)
    assert.equals(2, #rec.retries)
    assert.equals("POST", rec.retries[1].e.method)
    assert.equals("GET", rec.retries[2].e.method)
    assert.equals(runs_before + 1, srv:stats().runs)
  end)

  it("does not retry create when the connection drops after the request, without its marker", function()
    local c = client("fail-first=1,drop", { create_marker = false })
    local ok, e = pcall(c.runs.create, c.runs, { query = "q" })
    assert.is_false(ok)
    assert.equals(1, e.attempts)
    assert.is_true(e.kind == "transport" or e.kind == "closed", e.kind)
    -- the same drop on a GET is retried
    local g = client("fail-first=1,drop")
    assert.equals("list", g.runs:list().object)
  end)

  it("retries create on connection failures (nothing was sent)", function()
    local c, rec = client(nil, { base_url = "http://127.0.0.1:9" })
    local ok, e = pcall(c.runs.create, c.runs, { query = "q" })
    assert.is_false(ok)
    assert.equals("connect", e.kind)
    assert.equals(3, e.attempts)
    assert.equals(2, #rec.retries)
  end)

  it("does not retry CONCURRENCY_LIMIT_REACHED by default, does when asked", function()
    local c, rec = client("fail-first=1,status=429")
    local ok, e = pcall(c.runs.create, c.runs, { query = "q", effort = "low" })
    assert.is_false(ok)
    assert.equals("concurrency_limit", e.kind)
    assert.equals(0, #rec.retries)
    local r, rec2 = client("fail-first=1,status=429,retry-after=2", { retry_concurrency_limit = true })
    local run = r.runs:create{ query = "q", effort = "low" }
    assert.matches("^agent_run_", run.id)
    assert.same({ 2 }, rec2.slept)
  end)

  it("retries an HTML 502 from a proxy on GET", function()
    local c, rec = client("fail-first=1,status=502,html")
    assert.equals("list", c.runs:list().object)
    assert.equals(1, #rec.retries)
    assert.matches("non%-JSON", rec.retries[1].e.message)
  end)
end)
