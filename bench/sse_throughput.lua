-- Framer throughput: the C framer (exa.core.sse_parser) against a plain Lua
-- framer, on the same synthetic Exa-like event stream fed in 16 KiB chunks.
-- Prints one line per framer: MB/s and events/s (CPU time, os.clock).
local core = require "exa.core"
local lua_sse = dofile((arg and arg[0] or ""):gsub("[^/]*$", "") .. "lib/lua_sse.lua")

local N = tonumber(os.getenv("BENCH_EVENTS")) or 200000
local parts = {}
for i = 1, N do
  parts[#parts + 1] = ("id: %d\nevent: agent_run.search_trace\ndata: {\"text\":\"Searching for AI infrastructure funding rounds, step %d\",\"callId\":\"call_%08d\",\"tool\":\"web_search\"}\n\n"):format(i, i, i)
  if i % 50 == 0 then parts[#parts + 1] = ": keep-alive\n\n" end
end
local stream = table.concat(parts)
parts = nil -- 200k live strings would make every GC step of the timed loop walk them
local chunks, CH = {}, 16384
for i = 1, #stream, CH do chunks[#chunks + 1] = stream:sub(i, i + CH - 1) end

-- new_feed() returns a fresh framer's feed function. A warm-up pass on a
-- separate framer grows the heap and lets LuaJIT compile traces first.
local function run(name, new_feed)
  local warm = new_feed()
  for i = 1, math.floor(#chunks / 10) do warm(chunks[i]) end
  collectgarbage()
  local feed = new_feed()
  local t0, n = os.clock(), 0
  for i = 1, #chunks do n = n + #feed(chunks[i]) end
  local dt = os.clock() - t0
  assert(n == N, name .. ": got " .. n .. " events, want " .. N)
  print(("%-22s %-8s %8.1f MB/s %10.0f events/s  (%d events, %.1f MB)"):format(
    name, jit and "LuaJIT" or _VERSION:gsub("Lua ", "Lua"), #stream / dt / 1e6, N / dt, N, #stream / 1e6))
end

run("C framer (exa.core)", function()
  local p = core.sse_parser()
  return function(c) return p:feed(c) end
end)
run("pure-Lua framer", function() return lua_sse.new().feed end)
