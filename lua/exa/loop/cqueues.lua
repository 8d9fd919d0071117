-- exa.loop.cqueues: the cqueues driver. One pump coroutine on the controller
-- while tasks are alive: it polls the multi's epoll fd (readable when any of
-- curl's sockets is), a condition (new work) and the next deadline, then acts
-- and resumes tasks. A call outside a task may not block: the host owns the
-- controller.
local next, error, require = next, error, require
local math_huge = math.huge

local core = require "exa.core"
local ypcall = require "exa.loop.pcall"

local now = core.monotime

local D = { name = "cqueues", blocks = false }

local function start_pump(loop)
  if loop.pumping then return end
  loop.pumping = true
  local cqueues = require "cqueues"
  local condition = require "cqueues.condition"
  loop.cond = loop.cond or condition.new()
  local pollable
  local function pump()
    while loop.alive > 0 do
      loop:run_runnable()
      if loop.alive == 0 then break end
      local wait = math_huge
      local h = loop.timers
      if h[1] then wait = h[1].at - now() end
      local m = loop.m
      local fd = m and m:fd()
      if m then
        local ms = m:timeout()
        if ms >= 0 and ms / 1000 < wait then wait = ms / 1000 end
      end
      if #loop.runnable > 0 then wait = 0 end
      if wait < 0 then wait = 0 end
      if fd then
        if not pollable or pollable.fd ~= fd then
          pollable = { fd = fd, pollfd = function(p) return p.fd end, events = function() return "r" end }
        end
        if wait == math_huge then cqueues.poll(pollable, loop.cond)
        else cqueues.poll(pollable, loop.cond, wait) end
      elseif wait == math_huge then
        cqueues.poll(loop.cond)
      else
        cqueues.poll(loop.cond, wait)
      end
      loop.ticks = loop.ticks + 1
      if m and (m:count() > 0 or next(loop.waiting) ~= nil) then loop:wake_ids(m:wait(0)) end
      loop:fire_timers()
    end
  end
  loop.cq:wrap(function()
    -- whatever ends the pump (an on_error that raises), the next spawn or
    -- sleep starts a new one: tasks are never left without a pump
    local ok, err = ypcall.pcall(pump)
    loop.pumping = false
    if not ok then error(err, 0) end
  end)
end

function D.kick(loop)
  start_pump(loop)
  if loop.cond then loop.cond:signal() end
end

function D.sync() end

-- the pump computes its wait from the timer heap: wake it to see the new one
function D.arm_sleep(loop) D.kick(loop) end

function D.run(loop)
  local cq = loop.cq
  while loop.alive > 0 do
    local ok, err = cq:step()
    if not ok then error(err, 0) end
  end
end

function D.close() end

return D
