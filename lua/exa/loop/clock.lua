-- exa.loop.clock: time and sleeping for retries, polling and resume, from the
-- C core (a monotonic clock and nanosleep). A host with its own event loop
-- passes its sleep (ngx.sleep, a scheduler's yield) through exa.new{sleep = fn}.
local type = type

local core = require "exa.core"

local core_sleep = core.sleep

local M = {}

--- Seconds since some fixed point; never goes backwards.
M.now = core.monotime

--- Block for s seconds (s may be fractional).
function M.sleep(s)
  if type(s) ~= "number" or s <= 0 then return end
  core_sleep(s)
end

return M
