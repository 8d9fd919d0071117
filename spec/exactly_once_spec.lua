-- Exactly-once create: no create or stream call ever makes two runs, across
-- answers lost on fresh and on reused connections (issue 7). The simulator's
-- lose-answer fault makes the run and then closes the connection unanswered.
local exa = require "exa"
local mock = require "helpers.mock"

describe("exactly-once create", function()
  local srv
  local n = 0
  setup(function() srv = mock.start{ "--speed", "400", "--max-active", "100" } end)
  teardown(function() srv:stop() end)

  local function client(fault, o)
    n = n + 1
    o = o or {}
    o.api_key = "sk-once-" .. n .. "-" .. os.time()
    o.base_url = srv.url
    o.headers = fault and { ["X-Mock-Fault"] = fault } or nil
    o.retry_base_delay = 0.01
    return exa.new(o)
  end

  -- every run of a key, by the simulator's own list
  local function runs_of(c)
    local out = {}
    for r in c.runs:iter{ limit = 100 } do out[#out + 1] = r end
    return out
  end

  it("a create whose answer is lost on a fresh connection finds its run by marker", function()
    local c = client("lose-answer=1")
    local run = c.runs:create{ query = "lost answer", effort = "low" }
    assert.equals("lost answer", run.request.query)
    local all = runs_of(c)
    assert.equals(1, #all)
    assert.equals(run.id, all[1].id)
    assert.is_string(all[1].request.metadata.exa_client_request_id)
  end)

  it("a create whose answer is lost on a reused connection is never re-sent by libcurl", function()
    local c = client("lose-answer=1")
    -- warm a keep-alive connection: the create rides it, and libcurl, which
    -- would re-send it when that connection dies, cannot rewind its body
    c.runs:list()
    local run = c.runs:create{ query = "reused", effort = "low" }
    local all = runs_of(c)
    assert.equals(1, #all, "one run")
    assert.equals(run.id, all[1].id)
  end)

  it("a stream whose answer is lost continues its run by replay: one run, every event once", function()
    local c = client("lose-answer=1")
    c.runs:list()
    local evs = {}
    for ev in c.runs:stream{ query = "lost stream", effort = "low" } do evs[#evs + 1] = ev end
    local all = runs_of(c)
    assert.equals(1, #all, "one run")
    assert.equals("agent_run.created", evs[1].event)
    assert.equals("agent_run.completed", evs[#evs].event)
    for i, ev in ipairs(evs) do assert.equals(tostring(i), ev.id) end
  end)

  it("the user's own marker value is kept and used", function()
    local c = client("lose-answer=1")
    local run = c.runs:create{ query = "own marker", metadata = { exa_client_request_id = "mine-1", a = "b" } }
    assert.equals("mine-1", run.request.metadata.exa_client_request_id)
    assert.equals("b", run.request.metadata.a)
    assert.equals(1, #runs_of(c))
  end)

  it("opting out sends no marker, and an unknown outcome is then an error, not a guess", function()
    local c = client(nil, { create_marker = false })
    local run = c.runs:create{ query = "no marker" }
    assert.is_true(run.request.metadata == nil or run.request.metadata.exa_client_request_id == nil)
    local lost = client("lose-answer=1", { create_marker = false })
    local ok, e = pcall(lost.runs.create, lost.runs, { query = "unknown outcome" })
    assert.is_false(ok)
    assert.is_true(exa.is_error(e))
    assert.equals(1, e.attempts)
    assert.equals(1, #runs_of(lost), "the run exists, and the client did not make a second")
  end)

  it("when the lookup itself fails the error says so and carries the marker", function()
    -- every request of this client is dropped after the first create: the
    -- create's answer is lost and so is every list
    local c = client("drop")
    local ok, e = pcall(c.runs.create, c.runs, { query = "undecidable" }, { max_retries = 1 })
    assert.is_false(ok)
    -- drop answers nothing, not even the create: the lookup fails, and the
    -- client cannot tell whether a run exists
    assert.equals("ambiguous", e.kind)
    assert.is_string(e.client_request_id)
    assert.matches("exa_client_request_id", e.message)
  end)
end)
