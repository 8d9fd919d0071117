-- bench/loop_scale.lua N: N live streams at once on one built-in loop, in
-- one Lua thread. Prints client CPU per event and peak memory per stream
-- (VmHWM growth over the process's size before the streams opened, divided
-- by N). Run one N per process: VmHWM is a high-water mark.
--   EXA_BASE_URL=... EXA_API_KEY=... lua5.4 bench/loop_scale.lua 100
-- (EXA_CA_FILE: a CA to trust, for an https base URL with a private certificate)
local exa = require "exa"

local N = tonumber(arg[1]) or 100
local function status_kb(field)
  local f = io.open("/proc/self/status")
  if not f then return 0 end
  local s = f:read("*a")
  f:close()
  return tonumber(s:match(field .. ":%s*(%d+)")) or 0
end

local loop = exa.loop()
-- every run lasts 4 s, so all N streams are open together
local c = exa.new{ loop = loop, headers = { ["X-Mock-Fault"] = "run-seconds=4" }, ca_file = os.getenv("EXA_CA_FILE") }
c.runs:list{ limit = 1 } -- warm: the pool and the code paths exist before measuring
collectgarbage()
local base = status_kb("VmRSS")
local events, done = 0, 0
local cpu0 = os.clock()
for i = 1, N do
  loop:spawn(function()
    for _ in c.runs:stream{ query = "scale " .. i, effort = "low" } do events = events + 1 end
    done = done + 1
  end)
end
loop:run()
local cpu = os.clock() - cpu0
local peak = status_kb("VmHWM")
local lua_name = (jit and jit.version) or _VERSION
print(("%-12s streams %5d  events %7d  cpu/event %7.1f us  peak/stream %6.1f KiB  (done %d, wake-ups %d)")
  :format(lua_name, N, events, cpu / events * 1e6, (peak - base) / N, done, loop.ticks))
