-- exa.clock: wall time and sleeping for retries, polling and resume.
-- Uses exa.core's monotonic clock / sleep when the core offers them, else
-- portable fallbacks. A client can pass its own sleep (e.g. ngx.sleep, or a
-- scheduler's yield) through exa.new{sleep = fn}.
local type, pcall = type, pcall
local os_time, os_execute, string_format = os.time, os.execute, string.format

local core = require "exa.core"

local M = {}

local core_now = type(core.now) == "function" and core.now or nil
local core_sleep = type(core.sleep) == "function" and core.sleep or nil

--- Seconds (float when the core has a monotonic clock, else whole seconds).
function M.now()
  if core_now then return core_now() end
  return os_time()
end

--- Block for s seconds (s may be fractional).
function M.sleep(s)
  if not s or s <= 0 then return end
  if core_sleep then return core_sleep(s) end
  -- fallback: POSIX sleep accepts fractions (GNU, BSD and busybox do)
  pcall(os_execute, "sleep " .. string_format("%.3f", s))
end

return M
