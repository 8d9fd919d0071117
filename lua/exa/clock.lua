-- exa.clock: time and sleeping for retries, polling and resume.
-- Uses exa.core's monotonic clock and sleep when the core offers them
-- (core.monotime() -> seconds, core.sleep(seconds)); otherwise portable
-- fallbacks: sleep through the POSIX sleep command, and a clock that is
-- os.time() refined by the time this module itself slept (exact enough for
-- polling loops, which are sleep-bound). A client can pass its own sleep
-- (ngx.sleep, a scheduler's yield) through exa.new{sleep = fn}.
local type, pcall = type, pcall
local os_time, os_execute, string_format = os.time, os.execute, string.format

local core = require "exa.core"

local M = {}

local core_now = type(core.monotime) == "function" and core.monotime or nil
local core_sleep = type(core.sleep) == "function" and core.sleep or nil

local t0 = os_time()
local slept = 0
local last = t0

--- Seconds since some fixed point; never goes backwards.
function M.now()
  if core_now then return core_now() end
  local t = os_time()
  local v = t0 + slept
  if t > v then
    -- real time ran ahead of our sleeps: resync, keeping sub-second sleeps after it
    slept = t - t0
    v = t
  end
  if v < last then v = last end
  last = v
  return v
end

--- Block for s seconds (s may be fractional).
function M.sleep(s)
  if type(s) ~= "number" or s <= 0 then return end
  if core_sleep then return core_sleep(s) end
  pcall(os_execute, "sleep " .. string_format("%.3f", s)) -- GNU, BSD and busybox take fractions
  slept = slept + s
end

return M
