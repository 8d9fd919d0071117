-- exa.loop.builtin: the built-in driver. Waits with epoll (poll elsewhere) on
-- exactly the sockets curl asked for, through the multi's m:wait(ms). A call
-- outside any task may block here: this is the synchronous API's driver.
local math_floor, math_huge = math.floor, math.huge

local core = require "exa.core"

local now = core.monotime

local D = { name = "builtin", blocks = true }

function D.kick() end
function D.sync() end
function D.arm_sleep() end
function D.close() end

-- One turn: run what is runnable, wait (at most max_wait seconds) for a
-- socket, curl's timer, a watched fd or a sleep to fall due, wake whoever it
-- concerns. until_done: a task; once it is done, the turn does not wait.
function D.step(loop, max_wait, until_done)
  loop:run_runnable()
  -- the task a caller waits for has just finished: no wait (other tasks may
  -- wait for a long time, e.g. for a signal)
  if until_done and until_done:done() then return end
  local wait = max_wait or math_huge
  local h = loop.timers
  if h[1] then
    local d = h[1].at - now()
    if d < wait then wait = d end
  end
  if #loop.runnable > 0 then wait = 0 end
  if wait < 0 then wait = 0 end
  local m = loop.m
  loop.ticks = loop.ticks + 1
  if m and (m:count() > 0 or (loop.nwatch > 0 and loop.alive > 0)) then
    local ms = wait == math_huge and -1 or math_floor(wait * 1000 + 0.999)
    loop:wake_ids(m:wait(ms))
  else
    -- no transfer running: collect what ended meanwhile, then sleep on timers
    if m then loop:wake_ids(m:wait(0)) end
    if #loop.runnable == 0 then
      if wait == math_huge then
        if loop.alive > 0 then
          loop:raise_stuck()
        end
      elseif wait > 0 then
        core.sleep(wait)
      end
    end
  end
  loop:fire_timers()
  loop:run_runnable()
end

function D.run(loop)
  while loop.alive > 0 do D.step(loop) end
end

return D
