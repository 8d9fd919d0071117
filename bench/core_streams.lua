-- exa.core with many event streams at once: CPU per event and memory per
-- stream at 1, 100 and 1000 concurrent SSE transfers on one multi, read the
-- way a scheduler reads them (m:wait, then next_event(0) for the ids it
-- reports) and, for contrast, the way one blocking reader per stream would
-- (round-robin t:next_event(), each call driving the multi).
--
--   LUA_CPATH=build/5.4/?.so lua5.4 bench/core_streams.lua [counts...]
--
-- The server is spec/helpers/http_peer.lua (/sse?n=&delay=) on loopback, in
-- its own process; only this process's CPU (os.clock: user + system, every
-- thread) is counted.  Memory per stream: VmRSS with every stream open (each
-- has delivered its first event) minus VmRSS before the first request, over N.
-- Events per stream and their spacing keep the total rate near 2,000/s at
-- every N, so the figures compare the cost of concurrency, not of load.
local core = require "exa.core"

local here = (arg and arg[0] or ""):gsub("[^/]*$", "")
package.path = here .. "../spec/?.lua;" .. package.path
local peer_proc = require "helpers.peer_proc"
local streams = dofile(here .. "lib/streams.lua")
local plan, rss_kib = streams.plan, streams.rss_kib

local function run(base, n, mode)
  local per, delay = plan(n)
  collectgarbage()
  collectgarbage()
  local rss0 = rss_kib()
  local m = core.multi()
  local ts = {}
  local t0, c0 = os.time(), os.clock()
  for i = 1, n do
    ts[i] = m:request { method = "GET", url = ("%s/sse?n=%d&delay=%d"):format(base, per, delay), sse = true }
  end
  local got, open, ended, peak = {}, 0, 0, 0
  for i = 1, n do got[i] = 0 end
  local function take(i, ev)
    got[i] = got[i] + 1
    if got[i] == 1 then
      open = open + 1
      if open == n then peak = rss_kib() end
    end
    assert(ev.id == tostring(got[i]), "out of order")
  end
  if mode == "wait" then
    while ended < n do
      for _, id in ipairs(m:wait(5000)) do
        local t = ts[id]
        while true do
          local ev, err = t:next_event(0)
          if ev == false then break end
          if ev == nil then
            assert(not err, err and err.message)
            ended = ended + 1
            break
          end
          take(id, ev)
        end
      end
    end
  else -- one blocking reader per stream, taking turns
    local live = {}
    for i = 1, n do live[i] = true end
    while ended < n do
      for i = 1, n do
        if live[i] then
          local ev, err = ts[i]:next_event()
          if ev then
            take(i, ev)
          else
            assert(not err, err and err.message)
            live[i] = false
            ended = ended + 1
          end
        end
      end
    end
  end
  local cpu = os.clock() - c0
  local events = 0
  for i = 1, n do events = events + got[i] end
  assert(events == n * per, ("%d events, want %d"):format(events, n * per))
  local st = m:stats()
  for i = 1, n do ts[i]:close() end
  m:close()
  return {
    n = n, mode = mode, events = events, cpu = cpu, wall = os.time() - t0,
    us_per_event = cpu / events * 1e6, kib_per_stream = (peak - rss0) / n,
    steps = st.steps, actions = st.actions,
  }
end

local HEAD = ("%-8s %6s %8s %10s %12s %12s %10s %10s"):format("mode", "N", "events", "cpu s", "cpu us/event",
  "KiB/stream", "wake-ups", "actions")
local function line(r)
  return ("%-8s %6d %8d %10.3f %12.1f %12.1f %10d %10d"):format(r.mode, r.n, r.events, r.cpu, r.us_per_event,
    r.kib_per_stream, r.steps, r.actions)
end

-- One case in this process: lua core_streams.lua --one MODE N BASE
if arg[1] == "--one" then
  run(arg[4], 10, "wait") -- warm-up: curl, the allocator
  print(line(run(arg[4], tonumber(arg[3]), arg[2])))
  return
end

local counts = {}
for _, a in ipairs(arg) do counts[#counts + 1] = tonumber(a) end
if #counts == 0 then counts = { 1, 100, 1000 } end

-- Each case in a fresh process: memory freed by one case would hide the next one's.
local lua = arg[-1] or "lua5.4"
local peer = peer_proc.start(3600)
local ok, err = pcall(function()
  print((jit and jit.version or _VERSION) .. ", libcurl " .. core.curl_version)
  print(HEAD)
  for _, mode in ipairs { "wait", "blocking" } do
    for _, n in ipairs(counts) do
      local p = assert(io.popen(("%s %s --one %s %d %s"):format(lua, arg[0], mode, n, peer.base)))
      local out = p:read("*a")
      p:close()
      assert(out:match("^" .. mode), out)
      io.write(out)
    end
  end
end)
peer_proc.stop(peer)
if not ok then error(err, 0) end
