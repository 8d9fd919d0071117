-- exa.loop: the one place the library waits.
--
--   local loop = exa.loop()                  built-in: waits on curl's sockets (epoll)
--   local loop = exa.loop{ uv = vim.loop }   libuv (Neovim, luvit, luv): a uv poll per socket
--   local loop = exa.loop{ cqueues = cq }    a cqueues controller: a pump polls the multi's fd
--   local task = loop:spawn(fn, ...)         fn runs in a coroutine on the loop
--   task:wait()                              fn's results, or raises its error
--   loop:run()                               drive until every task has finished
--   loop:sleep(s)                            yields the current task for s seconds
--   loop:readable(fd)                        yields the current task until fd is readable
--   local sigs = loop:signals{"INT", "TERM"} signals as loop events: sigs:next() yields the
--                                            task until one comes and returns its name
--
-- Every blocking point of the library (response head, next event, body,
-- backoff, wait() polling, resume polling) asks the loop: inside a task the
-- task yields until its transfer made progress or its timer fired; outside
-- any task, a built-in loop blocks as the synchronous API always did, and a
-- host loop (uv, cqueues) raises kind = "loop": blocking would freeze the host.
--
-- The C core never calls Lua: the multi records what curl wants watched,
-- and the loop reads that, waits the host's way, and calls back in.
local type, setmetatable, getmetatable, error, select, tostring, next, ipairs, pcall =
  type, setmetatable, getmetatable, error, select, tostring, next, ipairs, pcall
local string_format, table_remove, require_ = string.format, table.remove, require
local io_stderr, string_find, pairs = io.stderr, string.find, pairs
local coroutine_create, coroutine_resume, coroutine_yield, coroutine_running, coroutine_status =
  coroutine.create, coroutine.resume, coroutine.yield, coroutine.running, coroutine.status
local math_floor, math_huge = math.floor, math.huge
local unpack = table.unpack or unpack -- luacheck: ignore

local core = require "exa.core"
local errors = require "exa.errors"
local validate = require "exa.validate"
local ypcall = require "exa.pcall"

local M = {}

local Loop = {}
Loop.__index = Loop
local Task = {}
Task.__index = Task

local function pack(...) return { n = select("#", ...), ... } end

local function loop_error(message)
  return errors.new{ kind = "loop", message = message }
end

-- Tasks are alive, none can run, and nothing will wake them: a deadlock.
local function raise_stuck(self)
  error(loop_error(self.alive .. " task(s) wait for nothing: no transfer, no timer"), 0)
end

-- ---- timers: a binary heap on .at ---------------------------------------

local function heap_push(h, item)
  local i = #h + 1
  h[i] = item
  while i > 1 do
    local p = math_floor(i / 2)
    if h[p].at <= h[i].at then break end
    h[p], h[i] = h[i], h[p]
    i = p
  end
end

local function heap_pop(h)
  local top = h[1]
  local n = #h
  h[1] = h[n]
  h[n] = nil
  n = n - 1
  local i = 1
  while true do
    local l, r, m = 2 * i, 2 * i + 1, i
    if l <= n and h[l].at < h[m].at then m = l end
    if r <= n and h[r].at < h[m].at then m = r end
    if m == i then break end
    h[m], h[i] = h[i], h[m]
    i = m
  end
  return top
end

-- ---- the loop ----------------------------------------------------------

--- exa.loop([opts]): opts.uv (a luv module: vim.loop / vim.uv / require "luv")
--- or opts.cqueues (a cqueues controller); neither: the built-in driver.
function M.new(opts)
  if opts ~= nil and type(opts) ~= "table" then
    errors.invalid("loop", "exa.loop takes nil or a table {uv = ...} or {cqueues = ...}")
  end
  opts = validate.options(opts, "loop")
  local driver = "builtin"
  if opts.on_error ~= nil and type(opts.on_error) ~= "function" then
    errors.invalid("on_error", "exa.loop{on_error = ...} must be a function(err, task)")
  end
  if opts.uv ~= nil and opts.cqueues ~= nil then
    errors.invalid("loop", "exa.loop: give uv or cqueues, not both")
  elseif opts.uv ~= nil then
    if type(opts.uv) ~= "table" or type(opts.uv.new_timer) ~= "function" then
      errors.invalid("uv", "exa.loop{uv = ...} needs a luv module (vim.loop, vim.uv or require 'luv')")
    end
    driver = "uv"
  elseif opts.cqueues ~= nil then
    local cq = opts.cqueues
    if (type(cq) ~= "userdata" and type(cq) ~= "table") or type(cq.wrap) ~= "function" then
      errors.invalid("cqueues", "exa.loop{cqueues = ...} needs a cqueues controller (cqueues.new())")
    end
    driver = "cqueues"
  end
  local self = setmetatable({
    driver = driver, -- "builtin", "uv" or "cqueues"
    uv = opts.uv,
    cq = opts.cqueues,
    m = nil,              -- the curl multi: one connection pool for every client on this loop
    by_co = setmetatable({}, { __mode = "k" }),
    waiting = {},         -- transfer id -> task
    timers = {},          -- heap of {at=, task=}
    runnable = {},        -- tasks to resume, in order: {task, value}
    alive = 0,            -- tasks not finished
    failed = {},          -- tasks whose error nobody has seen yet, in order
    polls = {},           -- uv: fd -> poll handle
    fds = {},             -- fds a task waits on (loop:readable): fd -> its watch id on fds_m
    fds_m = nil,
    nwatch = 0,
    on_error = opts.on_error,
    ticks = 0,            -- wake-ups (for tests: counts, not times)
  }, Loop)
  return self
end

function Loop:__tostring()
  return "exa.loop(" .. self.driver .. ", " .. self.alive .. " tasks)"
end

local now = core.monotime

--- The connection pool of this loop (created on first use).
function Loop:multi()
  local m = self.m
  if not m then
    m = core.multi{ log_sockets = self.driver == "uv" }
    self.m = m
  end
  return m
end

--- The task running now on this loop, or nil.
function Loop:current()
  local co = coroutine_running()
  return co and self.by_co[ypcall.root(co)] or nil
end

-- Schedule task to be resumed with value (what the yield returns).
local function schedule(self, task, value)
  local r = self.runnable
  r[#r + 1] = { task, value }
  if self.driver ~= "builtin" then self:kick() end
end

-- A task failed and nobody waits for it. A built-in loop raises it from
-- run(); on a host loop (uv, cqueues), where nobody may ever call run(), it
-- goes to on_error, or stderr, so it is never lost silently.
local function report(self, task)
  if self.on_error then
    self.on_error(task.err, task)
  elseif self.driver ~= "builtin" then
    io_stderr:write("exa: a task on the ", self.driver, " loop failed: ", tostring(task.err), "\n")
  end
end

local function finish(self, task, ok, res)
  self.alive = self.alive - 1
  if ok then
    task.status = "done"
    task.results = res
  else
    task.status = "failed"
    local err = res[1]
    if type(err) == "string" and string_find(err, "yield across", 1, true) then
      err = errors.new{ kind = "loop", message = err .. ": PUC Lua 5.1 cannot yield inside a "
        .. "for-loop iterator, a metamethod or a C function; in a task pull a stream with "
        .. "`local ev = s:next()` in a while loop (LuaJIT and Lua 5.2+ have no such limit)" }
    end
    task.err = err
    if not task.observed then
      self.failed[#self.failed + 1] = task
      report(self, task)
    end
  end
  local joiners = task.joiners
  task.joiners = nil
  if joiners then
    for i = 1, #joiners do schedule(self, joiners[i]) end
  end
end

local function resume(self, task, value)
  if task.status ~= "suspended" then return end
  task.status = "running"
  local res = pack(coroutine_resume(task.co, value))
  if coroutine_status(task.co) == "dead" then
    local ok = res[1]
    local out = { n = res.n - 1 }
    for i = 2, res.n do out[i - 1] = res[i] end
    finish(self, task, ok, out)
  elseif task.status == "running" then
    -- it yielded without saying what it waits for: a yield of the user's
    -- own; resume it on the next turn rather than lose it
    task.status = "suspended"
    schedule(self, task)
  end
end

-- Resume everything runnable (tasks made runnable meanwhile run too).
function Loop:run_runnable()
  local r = self.runnable
  while #r > 0 do
    self.runnable = {}
    for i = 1, #r do
      local ok, err = pcall(resume, self, r[i][1], r[i][2])
      if not ok then
        -- on_error raised: the tasks after this one stay runnable, not lost
        local keep, later = {}, self.runnable
        for j = i + 1, #r do keep[#keep + 1] = r[j] end
        for j = 1, #later do keep[#keep + 1] = later[j] end
        self.runnable = keep
        error(err, 0)
      end
    end
    r = self.runnable
  end
end

local function wake_ids(self, ids)
  local waiting = self.waiting
  for i = 1, #ids do
    local id = ids[i]
    local task = waiting[id]
    if task then
      waiting[id] = nil
      task.wait_id = nil
      schedule(self, task)
    end
  end
end

local function fire_timers(self)
  local h = self.timers
  local t = now()
  while h[1] and h[1].at <= t do
    local item = heap_pop(h)
    if not item.cancelled then schedule(self, item.task) end
  end
end

-- Suspend the current task (it said what will wake it).
local function suspend(task)
  task.status = "suspended"
  return coroutine_yield()
end

--- loop:spawn(fn, ...) -> task: fn(...) runs in a coroutine on this loop.
function Loop:spawn(fn, ...)
  if type(fn) ~= "function" then
    errors.invalid("fn", "loop:spawn takes a function")
  end
  local args = pack(...)
  local task = setmetatable({ loop = self, status = "suspended" }, Task)
  task.co = coroutine_create(function() return fn(unpack(args, 1, args.n)) end)
  self.by_co[task.co] = task
  self.alive = self.alive + 1
  schedule(self, task)
  return task
end

--- Wait until transfer id made progress (inside a task of this loop).
function Loop:await(id)
  local task = self:current()
  if not task then error(loop_error("loop:await outside a task"), 0) end
  self.waiting[id] = task
  task.wait_id = id
  if self.driver == "uv" then self:sync() end
  suspend(task)
end

--- Wake the task waiting on transfer id, if any (the transfer was closed:
--- it reports no progress any more).
function Loop:wake(id)
  wake_ids(self, { id })
end

--- Outside a task: may the caller block? (built-in: yes; a host loop: no).
function Loop:check_blocking(what)
  if self.driver ~= "builtin" then
    error(loop_error(string_format("%s outside a task would block the %s loop: call it inside "
      .. "loop:spawn(fn) (or task:wait() from a task)", what or "a call", self.driver)), 0)
  end
end

--- loop:sleep(seconds): yields the current task; outside a task a built-in
--- loop keeps driving its other tasks meanwhile.
function Loop:sleep(s)
  if type(s) ~= "number" or s ~= s then
    errors.invalid("seconds", "loop:sleep takes a number of seconds")
  end
  local task = self:current()
  if task then
    if s <= 0 then
      schedule(self, task)
    else
      local item = { at = now() + s, task = task }
      heap_push(self.timers, item)
      if self.driver == "uv" then self:arm_sleep(s, item) end
      if self.driver == "cqueues" then self:kick() end
    end
    suspend(task)
    return
  end
  self:check_blocking("loop:sleep")
  if s <= 0 then return end
  local deadline = now() + s
  if self.alive == 0 and not (self.m and self.m:count() > 0) then
    core.sleep(s)
    return
  end
  while true do
    local left = deadline - now()
    if left <= 0 then return end
    self:step(left)
  end
end

-- ---- a host's own fds and signals ---------------------------------------

--- loop:readable(fd): yields the current task until fd is readable (the
--- multi watches it like a transfer, in one epoll set with curl's sockets,
--- while the task waits: a readable fd nobody waits for never wakes the
--- loop). One task per fd. Outside a task a built-in loop drives until then.
--- Built-in and cqueues loops; on uv use uv.new_poll.
function Loop:readable(fd)
  if type(fd) ~= "number" then errors.invalid("fd", "loop:readable takes a file descriptor") end
  if self.driver == "uv" then
    error(loop_error("loop:readable is for the built-in and cqueues loops (on uv: uv.new_poll)"), 0)
  end
  if not self:current() then
    self:check_blocking("loop:readable")
    return self:spawn(self.readable, self, fd):wait()
  end
  local m = self:multi()
  if self.driver == "cqueues" and not m:fd() then -- the pump polls the multi's epoll fd: none here
    error(loop_error("loop:readable on a cqueues loop needs epoll (Linux): poll fd on the controller"), 0)
  end
  if self.fds_m ~= m then -- a new pool (the old one was closed): nothing is watched on it
    self.fds, self.fds_m, self.nwatch = {}, m, 0
  end
  local id, err = m:watch(fd)
  if not id then error(loop_error("loop:readable(" .. tostring(fd) .. "): " .. tostring(err)), 0) end
  self.fds[fd] = id
  self.nwatch = self.nwatch + 1
  self:await(id)
  if self.fds[fd] == id and self.fds_m == m then -- not unwatched (or closed) meanwhile
    self.fds[fd] = nil
    self.nwatch = self.nwatch - 1
    m:unwatch(id)
  end
end

--- loop:unwatch(fd): stop watching fd (call it before closing fd); a task
--- waiting on it is resumed.
function Loop:unwatch(fd)
  local id = self.fds[fd]
  if not id then return end
  self.fds[fd] = nil
  self.nwatch = self.nwatch - 1
  if self.m and self.m == self.fds_m then self.m:unwatch(id) end
  self:wake(id)
end

local Signals = {}
Signals.__index = Signals

--- loop:signals(names [, keep_ignored]) -> watcher: from now on the signals
--- named (INT TERM HUP PIPE QUIT USR1 USR2) are caught (exa.core's
--- self-pipe) and become loop events; those also in keep_ignored stay
--- ignored if they are (nohup's HUP). watcher:next() yields the current task
--- until one comes and returns its name ("INT" ...), in order;
--- watcher:close() restores the dispositions from before. One watcher per
--- process at a time.
function Loop:signals(names, keep_ignored)
  if type(names) ~= "table" then errors.invalid("names", "loop:signals takes a list of signal names") end
  local s = core.signals(names, keep_ignored)
  return setmetatable({ loop = self, s = s, fd = s:fd(), queue = {} }, Signals)
end

function Signals:next()
  local q = self.queue
  while #q == 0 do
    if not self.s then return nil end
    local got = self.s:read()
    for i = 1, #got do q[#q + 1] = got[i] end
    if #q == 0 then self.loop:readable(self.fd) end
  end
  return table_remove(q, 1)
end

--- The names left ignored: they were ignored when the watcher opened
--- (nohup's SIGHUP, a background job's SIGINT) and stay so.
function Signals:ignored()
  return self.s and self.s:ignored() or {}
end

function Signals:close()
  local s = self.s
  if not s then return end
  self.s = nil
  self.loop:unwatch(self.fd)
  s:close()
end
Signals.__gc = Signals.close

-- ---- the built-in driver -------------------------------------------------

-- One turn: run what is runnable, wait (at most max_wait seconds) for a
-- socket, curl's timer, a watched fd or a sleep to fall due, wake whoever it
-- concerns. until_done: a task; once it is done, the turn does not wait.
function Loop:step(max_wait, until_done)
  self:run_runnable()
  -- the task a caller waits for has just finished: no wait (other tasks may
  -- wait for a long time, e.g. for a signal)
  if until_done and until_done:done() then return end
  local wait = max_wait or math_huge
  local h = self.timers
  if h[1] then
    local d = h[1].at - now()
    if d < wait then wait = d end
  end
  if #self.runnable > 0 then wait = 0 end
  if wait < 0 then wait = 0 end
  local m = self.m
  self.ticks = self.ticks + 1
  if m and (m:count() > 0 or (self.nwatch > 0 and self.alive > 0)) then
    local ms = wait == math_huge and -1 or math_floor(wait * 1000 + 0.999)
    wake_ids(self, m:wait(ms))
  else
    -- no transfer running: collect what ended meanwhile, then sleep on timers
    if m then wake_ids(self, m:wait(0)) end
    if #self.runnable == 0 then
      if wait == math_huge then
        if self.alive > 0 then
          raise_stuck(self)
        end
      elseif wait > 0 then
        core.sleep(wait)
      end
    end
  end
  fire_timers(self)
  self:run_runnable()
end

local function raise_first_failure(self)
  local f = self.failed
  if #f == 0 then return end
  local task = f[1]
  self.failed = {}
  task.observed = true
  error(task.err, 0)
end

--- loop:run(): drive until every task has finished; then raise the first
--- task error that no task:wait() has seen.
function Loop:run()
  if self:current() then error(loop_error("loop:run() inside a task of the same loop"), 0) end
  if self.driver == "uv" then
    -- standalone luv: run the uv loop until our tasks are done (in Neovim
    -- the editor runs the loop; there, just spawn and let it)
    -- uv.run("once") answers false once no handle or request is active:
    -- then nothing can wake the tasks left, and looping again would spin
    while self.alive > 0 do
      if not self.uv.run("once") and self.alive > 0 and #self.runnable == 0 then
        raise_stuck(self)
      end
    end
  elseif self.driver == "cqueues" then
    local cq = self.cq
    while self.alive > 0 do
      local ok, err = cq:step()
      if not ok then error(err, 0) end
    end
  else
    while self.alive > 0 do self:step() end
  end
  raise_first_failure(self)
end

-- ---- tasks ---------------------------------------------------------------

function Task:__tostring()
  return "exa.task(" .. tostring(self.status) .. ")"
end

--- Has fn returned or raised?
function Task:done()
  return self.status == "done" or self.status == "failed"
end

--- task:wait(): fn's results, or raises its error. Inside a task it yields;
--- outside one a built-in loop is driven until the task has finished.
function Task:wait()
  local loop = self.loop
  self.observed = true
  if not self:done() then
    local me = loop:current()
    if me == self then error(loop_error("a task cannot wait for itself"), 0) end
    if me then
      local j = self.joiners or {}
      j[#j + 1] = me
      self.joiners = j
      suspend(me)
    else
      loop:check_blocking("task:wait()")
      while not self:done() do loop:step(nil, self) end
    end
  end
  if self.status == "failed" then
    for i, t in ipairs(loop.failed) do
      if t == self then table_remove(loop.failed, i); break end
    end
    error(self.err, 0)
  end
  return unpack(self.results, 1, self.results.n)
end

-- ---- the uv driver -------------------------------------------------------

local UV_EVENTS = { ["in"] = "r", out = "w", inout = "rw" }

-- Resume runnable tasks soon, from a uv callback (never from inside the
-- caller's own stack frame).
function Loop:kick()
  if self.driver == "uv" then
    if self.kicked then return end
    self.kicked = true
    local uv = self.uv
    local t = self.kick_timer
    if not t then
      t = uv.new_timer()
      self.kick_timer = t
    end
    t:start(0, 0, function()
      self.kicked = false
      self:run_runnable()
      self:sync()
    end)
  elseif self.driver == "cqueues" then
    self:start_pump()
    if self.cond then self.cond:signal() end
  end
end

local function uv_on_ready(self, fd, err, events)
  local m = self.m
  if not m then return end
  local ev = err and "err" or (events == "rw" and "inout") or (events == "w" and "out") or "in"
  self.ticks = self.ticks + 1
  wake_ids(self, m:action(fd, ev))
  self:run_runnable()
  self:sync()
end

-- Apply what curl asked to watch since the last call, and re-arm the timer.
function Loop:sync()
  if self.driver ~= "uv" then return end
  local m = self.m
  if not m then return end
  local uv = self.uv
  local polls = self.polls
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
      p:start(UV_EVENTS[what], function(err, events) uv_on_ready(self, fd, err, events) end)
    end
  end
  local tmo = m:timeout()
  local t = self.curl_timer
  if not t then
    t = uv.new_timer()
    self.curl_timer = t
  end
  t:stop()
  if tmo >= 0 then
    t:start(tmo, 0, function()
      self.ticks = self.ticks + 1
      wake_ids(self, m:action(-1, "timeout"))
      self:run_runnable()
      self:sync()
    end)
  end
end

function Loop:arm_sleep(s, item)
  local uv = self.uv
  local t = uv.new_timer()
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
    fire_timers(self)
    self:run_runnable()
    self:sync()
  end
  t:start(math_floor(s * 1000 + 0.999), 0, on_timer)
  item.handle = t
end

-- ---- the cqueues driver --------------------------------------------------

-- One pump coroutine on the controller while tasks are alive: it polls the
-- multi's epoll fd (readable when any of curl's sockets is), a condition
-- (new work) and the next deadline, then acts and resumes tasks.
function Loop:start_pump()
  if self.pumping then return end
  self.pumping = true
  local cqueues = require_ "cqueues"
  local condition = require_ "cqueues.condition"
  self.cond = self.cond or condition.new()
  local pollable
  local function pump()
    while self.alive > 0 do
      self:run_runnable()
      if self.alive == 0 then break end
      local wait = math_huge
      local h = self.timers
      if h[1] then wait = h[1].at - now() end
      local m = self.m
      local fd = m and m:fd()
      if m then
        local ms = m:timeout()
        if ms >= 0 and ms / 1000 < wait then wait = ms / 1000 end
      end
      if #self.runnable > 0 then wait = 0 end
      if wait < 0 then wait = 0 end
      if fd then
        if not pollable or pollable.fd ~= fd then
          pollable = { fd = fd, pollfd = function(p) return p.fd end, events = function() return "r" end }
        end
        if wait == math_huge then cqueues.poll(pollable, self.cond)
        else cqueues.poll(pollable, self.cond, wait) end
      elseif wait == math_huge then
        cqueues.poll(self.cond)
      else
        cqueues.poll(self.cond, wait)
      end
      self.ticks = self.ticks + 1
      if m and (m:count() > 0 or next(self.waiting) ~= nil) then wake_ids(self, m:wait(0)) end
      fire_timers(self)
    end
  end
  self.cq:wrap(function()
    -- whatever ends the pump (an on_error that raises), the next spawn or
    -- sleep starts a new one: tasks are never left without a pump
    local ok, err = ypcall.pcall(pump)
    self.pumping = false
    if not ok then error(err, 0) end
  end)
end

--- loop:close(): end this loop's transfers (their tasks get `closed` errors)
--- and release what it holds in its host: uv polls and timers. The loop can
--- still run tasks afterwards; a new transfer opens a new pool.
function Loop:close()
  local m = self.m
  if m then
    self.m = nil
    self.fds, self.fds_m, self.nwatch = {}, nil, 0
    m:close()
    local ids = {}
    for id in pairs(self.waiting) do ids[#ids + 1] = id end
    wake_ids(self, ids)
  end
  for fd, p in pairs(self.polls) do
    self.polls[fd] = nil
    p:stop()
    p:close()
  end
  for _, name in ipairs{ "kick_timer", "curl_timer" } do
    local t = self[name]
    if t then
      self[name] = nil
      t:stop()
      t:close()
    end
  end
  self.kicked = false
end

-- A private built-in loop per client by default (synchronous, as ever).
function M.is_loop(v) return type(v) == "table" and getmetatable(v) == Loop end

return M
