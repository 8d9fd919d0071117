-- exa.loop.uv: the libuv driver (Neovim's vim.loop, luvit, luv). Each socket
-- curl asked for becomes a uv poll handle, curl's timeout one uv timer, and
-- runnable tasks are resumed from a zero-delay uv timer (never from inside
-- the caller's own stack frame). A call outside a task may not block: the
-- host owns the loop.
local math_floor, pairs, ipairs = math.floor, pairs, ipairs

local core = require "exa.core"

local now = core.monotime

local D = { name = "uv", blocks = false, log_sockets = true }

local UV_EVENTS = { ["in"] = "r", out = "w", inout = "rw" }

function D.kick(loop)
  if loop.kicked then return end
  loop.kicked = true
  local t = loop.kick_timer
  if not t then
    t = loop.uv.new_timer()
    loop.kick_timer = t
  end
  t:start(0, 0, function()
    loop.kicked = false
    loop:run_runnable()
    D.sync(loop)
  end)
end

local function on_ready(loop, fd, err, events)
  local m = loop.m
  if not m then return end
  local ev = err and "err" or (events == "rw" and "inout") or (events == "w" and "out") or "in"
  loop.ticks = loop.ticks + 1
  loop:wake_ids(m:action(fd, ev))
  loop:run_runnable()
  D.sync(loop)
end

-- Apply what curl asked to watch since the last call, and re-arm the timer.
function D.sync(loop)
  local m = loop.m
  if not m then return end
  local uv = loop.uv
  local polls = loop.polls
  local changes = m:changes()
  for i = 1, #changes do
    local c = changes[i]
    local fd, what = c[1], c[2]
    local p = polls[fd]
    if what == "remove" then
      if p then
        polls[fd] = nil
        p:stop()
        p:close()
      end
    else
      if not p then
        p = (uv.new_socket_poll or uv.new_poll)(fd)
        polls[fd] = p
      end
      p:start(UV_EVENTS[what], function(err, events) on_ready(loop, fd, err, events) end)
    end
  end
  local tmo = m:timeout()
  local t = loop.curl_timer
  if not t then
    t = uv.new_timer()
    loop.curl_timer = t
  end
  t:stop()
  if tmo >= 0 then
    t:start(tmo, 0, function()
      loop.ticks = loop.ticks + 1
      loop:wake_ids(m:action(-1, "timeout"))
      loop:run_runnable()
      D.sync(loop)
    end)
  end
end

function D.arm_sleep(loop, s, item)
  local t = loop.uv.new_timer()
  local function on_timer()
    -- libuv counts from its cached loop time (whole ms, as of the start of
    -- this iteration), so the timer may fire before item.at: not yet due,
    -- fire_timers would skip it and nothing would ever wake the task
    local left = item.at - now()
    if left > 0 then
      t:start(math_floor(left * 1000 + 0.999), 0, on_timer)
      return
    end
    t:stop()
    t:close()
    loop:fire_timers()
    loop:run_runnable()
    D.sync(loop)
  end
  t:start(math_floor(s * 1000 + 0.999), 0, on_timer)
  item.handle = t
end

-- Standalone luv: run the uv loop until our tasks are done (in Neovim the
-- editor runs the loop; there, just spawn and let it). uv.run("once")
-- answers false once no handle or request is active: then nothing can wake
-- the tasks left, and looping again would spin.
function D.run(loop)
  while loop.alive > 0 do
    if not loop.uv.run("once") and loop.alive > 0 and #loop.runnable == 0 then
      loop:raise_stuck()
    end
  end
end

function D.close(loop)
  for fd, p in pairs(loop.polls) do
    loop.polls[fd] = nil
    p:stop()
    p:close()
  end
  for _, name in ipairs{ "kick_timer", "curl_timer", "nudger" } do
    local t = loop[name]
    if t then
      loop[name] = nil
      if name ~= "nudger" then t:stop() end -- an async handle has no stop
      t:close()
    end
  end
  loop.kicked = false
end

return D
