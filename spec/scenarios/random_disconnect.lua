-- Random disconnects (issue 7): 200 seeded trials of a live stream and 200 of
-- a replay, each cut at chosen points by a raw peer (spec/helpers/api_peer_server.lua):
-- mid-line, between CR and LF, mid-event (a whole line of an unterminated
-- block), before or just after an event, inside the response head; by FIN,
-- by RST (SO_LINGER 0) or by a clean end of the body; chunked and
-- close-delimited bodies; a sloppy server that replays a few events again.
-- Every trial must end complete or with an error object, and over all trials
-- 0 events are lost, 0 duplicated, 0 reordered; every live trial makes
-- exactly one run. The trials are deterministic per seed (the peer's choices
-- come from the directives this file draws); each one is bounded by the
-- budget of attempts and by the peer's request cap.
--
-- Through both backends (helpers/scenarios.lua): spec/random_disconnect_spec.lua
-- runs it. The peer is started on the busted side; a test reaches its control
-- port through ctx.fetch (the backend under test).
local assert = require "luassert"

local T = {}
local function test(name, fn, opts) T[#T + 1] = { name, fn, opts } end

-- Park-Miller: the same draws on every Lua
local function prng(seed)
  local s = (seed % 2147483646) + 1
  return function(n)
    s = (s * 16807) % 2147483647
    local f = (s - 1) / 2147483646
    if n then return 1 + math.floor(f * n) end
    return f
  end
end

local CUTS = { "head", "before", "between", "mid-line", "crlf", "mid-event" }
local HOWS = { "fin", "rst", "clean" }
local FRAMINGS = { "chunked", "close" }
local EOLS = { "\n", "\r\n", "\r" }

-- The i-th combination of (at, how, framing), so that every one is tried.
local function combo(i)
  local n = #CUTS * #HOWS * #FRAMINGS
  local j = (i - 1) % n
  local at = CUTS[1 + j % #CUTS]
  j = math.floor(j / #CUTS)
  local how = HOWS[1 + j % #HOWS]
  j = math.floor(j / #HOWS)
  return at, how, FRAMINGS[1 + j % #FRAMINGS]
end

local function directive(rnd, at, how, framing)
  local eol = at == "crlf" and "\r\n" or EOLS[rnd(#EOLS)]
  return { framing = framing, eol = eol, seed = rnd(1e6),
    cut = { at = at, how = how, k = rnd(), r = rnd(), run = rnd() < 0.7 } }
end

-- A body that ends in good order at an event boundary (close-delimited
-- and closed by FIN, or chunked and properly ended) looks exactly like a
-- replay that sent everything stored: for a run that is still going no
-- client can tell it was cut, so such cuts are kept for runs that ended.
local function undetectable(at, how, framing)
  return (at == "before" or at == "between")
    and (framing == "close" and how ~= "rst" or framing == "chunked" and how == "clean")
end

local function random_directive(rnd, running)
  if rnd() < 0.25 then -- an uncut response, in either framing
    return { framing = FRAMINGS[rnd(2)], eol = EOLS[rnd(#EOLS)], seed = rnd(1e6) }
  end
  local at, how, framing = CUTS[rnd(#CUTS)], HOWS[rnd(#HOWS)], FRAMINGS[rnd(2)]
  if running and undetectable(at, how, framing) then how = "rst" end
  return directive(rnd, at, how, framing)
end

-- Compare what a trial delivered with what it should have: counts of lost
-- (a gap before the last delivered event, or anything missing from a trial
-- that ended without an error), duplicated, reordered and unexpected events.
local function judge(want, got, complete)
  local pos = {}
  for i, id in ipairs(want) do pos[id] = i end
  local seen, dup, reordered, extra, prev, maxpos = {}, 0, 0, 0, 0, 0
  for _, id in ipairs(got) do
    local p = pos[id]
    if not p then
      extra = extra + 1
    else
      if seen[id] then dup = dup + 1 end
      seen[id] = true
      if p < prev then reordered = reordered + 1 end
      prev = p
      if p > maxpos then maxpos = p end
    end
  end
  local upto = complete and #want or maxpos
  local lost = 0
  for i = 1, upto do if not seen[want[i]] then lost = lost + 1 end end
  return { lost = lost, dup = dup, reordered = reordered, extra = extra }
end

-- The peer's control port, through the backend under test.
local function peer_of(ctx)
  local json = ctx.json
  local api = ctx.data.api
  local function control(method, path, body)
    local res = ctx.fetch(api.ctl .. path, { method = method, body = body, timeout = 10000,
      headers = { "Content-Type: application/json", "Connection: close" } })
    assert(res.status == 200, "api_peer control: HTTP " .. tostring(res.status) .. " " .. tostring(res.body))
    return assert(json.decode(res.body))
  end
  return {
    url = api.url,
    session = function(_, o) return control("POST", "/session", assert(json.encode(o))) end,
    log = function(_, key) return control("GET", "/log" .. (key and ("?key=" .. key) or "")) end,
  }
end

local function client(ctx, p, key)
  return ctx.client{ api_key = key, base_url = p.url, max_retries = 6, stream_idle_timeout = 5,
    connect_timeout = 5, sleep = function() end }
end

-- Run one stream to its end: delivered ids, whether it ended cleanly, the error.
local function drain(s, cap)
  local got, last = {}, nil
  local ok, e = pcall(function()
    for ev in s do
      got[#got + 1] = ev.id
      last = ev
      if #got > cap then error("runaway stream: more than " .. cap .. " events", 0) end
    end
  end)
  return got, ok, e, last
end

local function report(exa, json, kind, trials)
  local totals = { lost = 0, dup = 0, reordered = 0, extra = 0, complete = 0, errored = 0 }
  local bad = {}
  for _, t in ipairs(trials) do
    for k in pairs{ lost = 1, dup = 1, reordered = 1, extra = 1 } do totals[k] = totals[k] + t.verdict[k] end
    if t.ok then totals.complete = totals.complete + 1 else totals.errored = totals.errored + 1 end
    local v = t.verdict
    if v.lost + v.dup + v.reordered + v.extra > 0 or not t.ok and not exa.is_error(t.err)
      or t.runs ~= nil and t.runs ~= 1 or not t.ok then
      bad[#bad + 1] = t
    end
  end
  local lines = {}
  for i = 1, math.min(#bad, 4) do
    local t = bad[i]
    lines[#lines + 1] = ("%s seed %d: want %s got %s, %s, runs %s; setup %s"):format(kind, t.seed,
      table.concat(t.want, ","), table.concat(t.got, ","),
      t.ok and "complete" or ("error " .. tostring(t.err)), tostring(t.runs), json.encode(t.setup))
  end
  table.insert(lines, 1, ("%s: %d trials, %d complete, %d errors; %d lost, %d duplicated, %d reordered, "
    .. "%d unexpected; %d bad trials, the first ones:"):format(kind, #trials, totals.complete, totals.errored,
    totals.lost, totals.dup, totals.reordered, totals.extra, #bad))
  return totals, bad, table.concat(lines, "\n")
end

-- The 200 trials of one kind, reported: none lost, duplicated, reordered or
-- extra; every plan here stays within the budget of attempts, so each completes.
local function assert_sound(exa, json, kind, trials)
  local totals, bad, detail = report(exa, json, kind, trials)
  assert.equals(0, totals.lost, detail)
  assert.equals(0, totals.dup, detail)
  assert.equals(0, totals.reordered, detail)
  assert.equals(0, totals.extra, detail)
  assert.equals(0, #bad, detail)
  assert.equals(200, totals.complete)
end

test("200 live streams cut at random points: none lost, duplicated or reordered; one run each", function(ctx)
  local json, p = ctx.json, peer_of(ctx)
  local trials = {}
  for seed = 1, 200 do
    local rnd = prng(seed * 7919)
    local n = 3 + rnd(10) - 1
    local key = "sk-live-" .. seed
    local at, how, framing = combo(seed)
    local plan = { create = { directive(rnd, at, how, framing) }, replay = {} }
    for i = 1, rnd(4) - 1 do plan.replay[i] = random_directive(rnd) end
    if rnd() < 0.15 then plan.list = { { status = 503 } } end
    if rnd() < 0.15 then plan.get = { { status = 502 } } end
    local steps = { json.null, 1, 2, 3 }
    local setup_ = { key = key, n = n, step = steps[rnd(4)], overlap = rnd(3) - 1, plan = plan }
    p:session(setup_)
    local c = client(ctx, p, key)
    local got, ok, e = drain(c.runs:stream{ query = "trial " .. seed }, 4 * n)
    c:close()
    local want = {}
    for i = 1, n do want[i] = tostring(i) end
    local log = p:log(key)
    trials[#trials + 1] = { seed = seed, want = want, got = got, ok = ok, err = e, setup = setup_,
      runs = #log.runs, verdict = judge(want, got, ok) }
  end
  assert_sound(ctx.exa, json, "live", trials)
end)

test("200 replays cut at random points: none lost, duplicated or reordered", function(ctx)
  local json, p = ctx.json, peer_of(ctx)
  local trials = {}
  for seed = 1, 200 do
    local rnd = prng(seed * 104729)
    local n = 3 + rnd(10) - 1
    -- a third of the runs are still going: the replay ends with what is stored
    local stored = rnd() < 0.34 and rnd(n - 1) or n
    local key = "sk-replay-" .. seed
    local running = stored < n
    local at, how, framing = combo(seed + 17)
    if running and undetectable(at, how, framing) then how = "rst" end
    local plan = { replay = { directive(rnd, at, how, framing) } }
    for i = 2, rnd(3) do plan.replay[i] = random_directive(rnd, running) end
    local from = rnd() < 0.5 and rnd(stored) - 1 or 0
    -- a server that repeats events before Last-Event-ID, only when the
    -- first replay sends none (stream_trust_spec has the first-connection case)
    local overlap = from == 0 and rnd(3) - 1 or 0
    local setup_ = { key = key, n = n, step = 0, overlap = overlap, plan = plan,
      runs = { { n = n, stored = stored } } }
    local made = p:session(setup_)
    local c = client(ctx, p, key)
    local got, ok, e = drain(c.runs:replay(made.runs[1], from > 0 and { last_event_id = from } or nil), 4 * n)
    c:close()
    local want = {}
    for i = from + 1, stored do want[#want + 1] = tostring(i) end
    setup_.from = from
    trials[#trials + 1] = { seed = seed, want = want, got = got, ok = ok, err = e, setup = setup_,
      verdict = judge(want, got, ok) }
  end
  assert_sound(ctx.exa, json, "replay", trials)
end)

return {
  before = function(env)
    env.api_peer = require("helpers.api_peer").start(300)
    env.ctx.api = { url = env.api_peer.url, ctl = env.api_peer.ctl }
  end,
  after = function(env) env.api_peer:stop() end,
  tests = T,
}
