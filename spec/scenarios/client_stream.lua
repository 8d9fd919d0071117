-- SSE streams through both backends (helpers/scenarios.lua): resume after a
-- dropped connection (every event exactly once, in order), replay recovery,
-- wire variants, coroutines and light threads, abandoning a stream.
-- spec/client_stream_spec.lua runs it.
local assert = require "luassert"

local T = {}
local function test(name, fn, opts) T[#T + 1] = { name, fn, opts } end

local KEY = "sk-stream-spec"
local function client(ctx, fault, o)
  o = o or {}
  o.api_key = KEY
  o.base_url = ctx.mock()
  o.headers = fault and { ["X-Mock-Fault"] = fault } or nil
  return ctx.client(o)
end

local function assert_exactly_once(ctx, evs, id)
  local want = ctx.stored(id, nil, KEY)
  assert.equals(#want, #evs, "event count")
  for i, ev in ipairs(evs) do
    assert.equals(tostring(want[i].id), ev.id, "event " .. i)
    assert.equals(want[i].event, ev.event, "event " .. i)
  end
end

local function wait_streams_closed(ctx)
  local last
  for _ = 1, 200 do
    last = ctx.stats()
    if last.open_streams == 0 then return true end
    ctx.sleep(0.05)
  end
  return false, ctx.json.encode(last)
end

test("resumes a dropped live stream from the last event id: none lost, none repeated", function(ctx)
  local c = client(ctx, "close-after-events=3")
  local evs = {}
  for ev in c.runs:stream{ query = "resume me", effort = "low" } do evs[#evs + 1] = ev end
  assert.is_true(#evs > 6)
  assert.equals("agent_run.created", evs[1].event)
  assert.equals("agent_run.completed", evs[#evs].event)
  for i, ev in ipairs(evs) do assert.equals(tostring(i), ev.id) end
  assert_exactly_once(ctx, evs, evs[1].data.id)
end)

test("resumes after a drop at every position", function(ctx)
  for k = 1, 4 do
    local c = client(ctx, "close-after-events=" .. k)
    local evs = {}
    for ev in c.runs:stream{ query = "drop " .. k, effort = "low" } do evs[#evs + 1] = ev end
    assert.equals("agent_run.completed", evs[#evs].event, "k=" .. k)
    assert_exactly_once(ctx, evs, evs[1].data.id)
    c:close()
  end
end)

test("with resume = false a drop is an error object", function(ctx)
  -- the fault cuts the chunked body short: a transfer error, not a clean end
  local c = client(ctx, "close-after-events=2")
  local got = 0
  local ok, e = pcall(function()
    for _ in c.runs:stream({ query = "no resume", effort = "low" }, { resume = false }) do got = got + 1 end
  end)
  assert.equals(2, got)
  assert.is_false(ok)
  assert.is_true(ctx.exa.is_error(e, "transport"), tostring(e))
end)

test("replay recovers from a dropped connection", function(ctx)
  local run = client(ctx).runs:create{ query = "replay drop", effort = "low" }
  client(ctx).runs:wait(run.id, { interval = 0.05 })
  local c = client(ctx, "close-after-events=2")
  local evs = {}
  for ev in c.runs:replay(run.id) do evs[#evs + 1] = ev end
  assert_exactly_once(ctx, evs, run.id)
  local after = {}
  for ev in c.runs:replay(run.id, { last_event_id = 4 }) do after[#after + 1] = ev.id end
  assert.equals("5", after[1])
  assert.equals(#evs - 4, #after)
end)

for _, fault in ipairs{ "drip", "sse-eol=cr", "sse-eol=crlf", "gzip", "keepalive-ms=1" } do
  test("parses the stream with fault " .. fault, function(ctx)
    local c = client(ctx, fault)
    local evs = {}
    for ev in c.runs:stream{ query = "wire " .. fault, effort = "low" } do evs[#evs + 1] = ev end
    assert.equals("agent_run.completed", evs[#evs].event)
    assert.equals("completed", evs[#evs].data.status)
    assert_exactly_once(ctx, evs, evs[1].data.id)
  end)
end

test("interleaves two streams in two coroutines", function(ctx)
  -- each run lasts 0.3 s (30 simulated seconds at --speed 100)
  local c = client(ctx, "run-seconds=30")
  local function consumer(q)
    return coroutine.create(function()
      for ev in c.runs:stream{ query = q, effort = "low" } do coroutine.yield(ev) end
      return "done"
    end)
  end
  local cos = { consumer("first"), consumer("second") }
  local got = { {}, {} }
  local finished = { false, false }
  local switches, last = 0, nil
  while not (finished[1] and finished[2]) do
    for i = 1, 2 do
      if not finished[i] then
        local ok, ev = coroutine.resume(cos[i])
        assert.is_true(ok, tostring(ev))
        if ev == "done" then
          finished[i] = true
        else
          got[i][#got[i] + 1] = ev
          if last ~= i then switches = switches + 1 end
          last = i
        end
      end
    end
  end
  assert.is_true(switches > 4)
  for i = 1, 2 do
    local evs = got[i]
    assert.equals("agent_run.completed", evs[#evs].event)
    assert_exactly_once(ctx, evs, evs[1].data.id)
  end
  assert.are_not.equal(got[1][1].data.id, got[2][1].data.id)
  -- really interleaved: by the simulator's clock the second run was created
  -- while the first was still going, so the first stream was not read to
  -- its end before the second began (ISO times with milliseconds compare
  -- as strings)
  local first_done = got[1][#got[1]].data.completedAt
  local second_created = got[2][1].data.createdAt
  assert.is_true(second_created < first_done, second_created .. " is not before " .. first_done)
end)

test("streams two runs at once in two light threads (ngx.thread)", function(ctx)
  local c = client(ctx)
  local order = {}
  local function reader(name)
    local n = 0
    for ev in c.runs:stream{ query = "thread " .. name, effort = "low" } do
      n = n + 1
      order[#order + 1] = name
      if ev.event == "agent_run.completed" then return n end
    end
    return n
  end
  local a, b = ngx.thread.spawn(reader, "a"), ngx.thread.spawn(reader, "b")
  local oka, na = ngx.thread.wait(a)
  local okb, nb = ngx.thread.wait(b)
  assert.is_true(oka, tostring(na))
  assert.is_true(okb, tostring(nb))
  assert.is_true(na > 6 and nb > 6)
  -- overlap: each stream's first event came before the other's last
  local first, last = {}, {}
  for i, name in ipairs(order) do
    first[name] = first[name] or i
    last[name] = i
  end
  assert.is_true(first.b < last.a and first.a < last.b, table.concat(order))
end, { only = "ngx" })

test("close() mid-stream frees the transfer", function(ctx)
  local c = client(ctx)
  local s = c.runs:stream{ query = "abandon", effort = "xhigh" }
  local first = s()
  assert.equals("agent_run.created", first.event)
  s:close()
  assert.is_nil(s())
  assert.is_true(wait_streams_closed(ctx))
  c.runs:cancel(first.data.id)
end)

if _VERSION == "Lua 5.4" then -- a to-be-closed value; nginx's LuaJIT has none
  test("leaving a for loop early closes the stream (to-be-closed value)", function(ctx)
    local c = client(ctx)
    local id
    for ev in c.runs:stream{ query = "break out", effort = "xhigh" } do
      id = ev.data.id
      break
    end
    assert.is_true(wait_streams_closed(ctx))
    c.runs:cancel(id)
  end, { only = "curl" })
end

test("an abandoned stream is freed by the garbage collector", function(ctx)
  local c = client(ctx)
  -- The stream lives only in this function's frame: once it returns, no
  -- register can still hold it (a dead `do local s ... end` slot in the
  -- caller's frame may stay reachable on 5.1/5.2/LuaJIT).
  local function start()
    local s = c.runs:stream{ query = "forgotten", effort = "xhigh" }
    return s().data.id
  end
  local id = start()
  collectgarbage()
  collectgarbage()
  assert.is_true(wait_streams_closed(ctx))
  c.runs:cancel(id)
end)

test("a cancelled run ends the stream with agent_run.cancelled", function(ctx)
  local c = client(ctx)
  local other = client(ctx)
  local last
  for ev in c.runs:stream{ query = "cancel me", effort = "xhigh" } do
    if ev.event == "agent_run.started" then other.runs:cancel(ev.data.id) end
    last = ev
  end
  assert.equals("agent_run.cancelled", last.event)
end)

return {
  mocks = { main = { "--speed", "100", "--max-active", "100" } },
  tests = T,
}
