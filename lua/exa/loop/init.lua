-- exa.loop: the one place the library waits.
--
--   local loop = exa.loop()                  built-in: waits on curl's sockets (epoll)
--   local loop = exa.loop{ uv = vim.loop }   libuv (Neovim, luvit, luv): a uv poll per socket
--   local loop = exa.loop{ cqueues = cq }    a cqueues controller: a pump polls the multi's fd
--   (inside Neovim, exa.loop() is exa.loop{ uv = vim.loop }: the editor's own loop)
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
-- any task, a built-in loop blocks as the synchronous API always did; a host
-- loop with a wait function (Neovim's vim.wait, the default there) runs the
-- host's events until the call is done, so timers, jobs and scheduled
-- callbacks go on; any other host loop (uv, cqueues) raises kind = "loop":
-- blocking would freeze the host. So does Neovim from a libuv callback,
-- where vim.wait is not allowed.
--
-- The C core never calls Lua: the multi records what curl wants watched,
-- and the loop reads that, waits the host's way, and calls back in.
--
-- This file is the seam: tasks, timers, scheduling, waking. How a loop waits
-- is its driver's, one file each: exa.loop.builtin, exa.loop.uv,
-- exa.loop.cqueues. A driver is a table of functions of the loop:
--   kick(loop)          runnable tasks exist: resume them soon (not from this frame)
--   sync(loop)          curl may have changed what it watches or its timer
--   arm_sleep(loop, s, item)   a task sleeps until item.at
--   run(loop)           drive until no task is alive
--   step(loop, max_wait)  built-in only: one turn, blocking at most max_wait
--                       (loop:step() takes it on every driver)
--   blocks              true when a call outside a task may block (built-in)
--   close(loop)         release what the driver holds in its host
local type, setmetatable, getmetatable, error, select, tostring, ipairs, pcall =
  type, setmetatable, getmetatable, error, select, tostring, ipairs, pcall
local string_format, table_remove, require = string.format, table.remove, require
local io_stderr, string_find, pairs = io.stderr, string.find, pairs
local coroutine_create, coroutine_resume, coroutine_yield, coroutine_running, coroutine_status =
  coroutine.create, coroutine.resume, coroutine.yield, coroutine.running, coroutine.status
local math_floor, math_min = math.floor, math.min
local getfenv, rawget = getfenv, rawget -- getfenv: nil on 5.2+, where no Neovim runs
local unpack = table.unpack or unpack -- luacheck: ignore

local core = require "exa.core"
local errors = require "exa.errors"
local validate = require "exa.validate"
local ypcall = require "exa.loop.pcall"
local builtin_step = require("exa.loop.builtin").step

local M = {}

local Loop = {}
Loop.__index = Loop
local Task = {}
Task.__index = Task
-- A stand-in task for a caller waiting outside any task through the host:
-- wake_ids sets its flag instead of resuming it.
local Outside = {}
Outside.__index = Outside

local function pack(...) return { n = select("#", ...), ... } end

local function loop_error(message)
  return errors.new{ kind = "loop", message = message }
end

-- Tasks are alive, none can run, and nothing will wake them: a deadlock.
function Loop:raise_stuck()
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

-- ---- the host ----------------------------------------------------------

--- The `vim` table when running inside Neovim (its event loop and vim.wait
--- are there), else nil.
function M.nvim()
  local env = getfenv and getfenv(0)
  local vim = type(env) == "table" and rawget(env, "vim")
  if type(vim) == "table" and type(vim.wait) == "function" and type(vim.in_fast_event) == "function"
    and type(rawget(vim, "uv") or vim.loop) == "table" then
    return vim
  end
  return nil
end

-- ---- the loop ----------------------------------------------------------

--- exa.loop([opts]): opts.uv (a luv module: vim.loop / vim.uv / require "luv")
--- or opts.cqueues (a cqueues controller); neither: the built-in driver, or
--- inside Neovim its own uv loop. opts.wait: how a call outside any task
--- waits on a uv loop: a function like vim.wait(ms, cond, interval) that runs
--- the host's events (default inside Neovim: vim.wait), or false to raise.
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
  if opts.wait ~= nil and opts.wait ~= false and type(opts.wait) ~= "function" then
    errors.invalid("wait", "exa.loop{wait = ...} must be a function like vim.wait, or false")
  end
  local vim = M.nvim()
  local uv, wait = opts.uv, opts.wait
  if vim then
    local vuv = rawget(vim, "uv") or vim.loop
    if driver == "builtin" then
      -- inside Neovim the default is the editor's loop: the built-in one
      -- would block it
      driver, uv = "uv", vuv
    end
    if wait == nil and uv == vuv then wait = vim.wait end
  end
  if driver ~= "uv" and wait then
    errors.invalid("wait", "exa.loop{wait = ...} goes with a uv loop")
  end
  local self = setmetatable({
    driver = driver, -- "builtin", "uv" or "cqueues"
    drv = require("exa.loop." .. driver),
    uv = uv,
    cq = opts.cqueues,
    host_wait = wait or nil, -- uv: runs the host's events until cond() (vim.wait)
    host_blocked = 0,        -- callers inside host_block now
    in_fast = wait and vim and wait == vim.wait and vim.in_fast_event or nil,
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
    m = core.multi{ log_sockets = self.drv.log_sockets or false }
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
  self.drv.kick(self)
end

-- Something a caller in host_block may wait for happened inside a libuv
-- callback. uv_run(ONCE) runs due timers before it polls, so a task that
-- finished in one (a kick) would leave the host polling until the next
-- event; an async send makes that poll return at once. (A 0 ms timer would
-- not: libuv 1.44 runs it in the same pass, before the poll.) Unref'd: it
-- never keeps a loop alive.
local function nudge(self)
  if self.host_blocked == 0 then return end
  local a = self.nudger
  if not a then
    a = self.uv.new_async(function() end)
    a:unref()
    self.nudger = a
  end
  a:send()
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
  nudge(self)
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

function Loop:wake_ids(ids)
  local waiting = self.waiting
  for i = 1, #ids do
    local id = ids[i]
    local task = waiting[id]
    if task then
      waiting[id] = nil
      if getmetatable(task) == Outside then
        task.woken = true
        nudge(self)
      else
        task.wait_id = nil
        schedule(self, task)
      end
    end
  end
end

function Loop:fire_timers()
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
  self.drv.sync(self)
  suspend(task)
end

--- Wake the task waiting on transfer id, if any (the transfer was closed:
--- it reports no progress any more).
function Loop:wake(id)
  self:wake_ids({ id })
end

--- Curl may have changed what it watches or its timer: tell the host.
function Loop:sync() self.drv.sync(self) end

--- One turn of the built-in driver (blocks at most max_wait seconds), on
--- any loop, as it always was: a host loop's driver has no turn of its own.
--- until_done: a task; once it is done, the turn does not wait.
function Loop:step(max_wait, until_done) builtin_step(self, max_wait, until_done) end

--- Outside a task: may the caller wait? (built-in: yes, it blocks; a uv
--- loop with a host wait: yes, through it, except in a Neovim libuv
--- callback; any other host loop: no).
function Loop:check_blocking(what)
  if self.drv.blocks then return end
  if self.host_wait then
    if not (self.in_fast and self.in_fast()) then return end
    error(loop_error(string_format("%s outside a task cannot wait in a libuv callback: "
      .. "run it in loop:spawn(fn), or vim.schedule it", what or "a call")), 0)
  end
  error(loop_error(string_format("%s outside a task would block the %s loop: call it inside "
    .. "loop:spawn(fn) (or task:wait() from a task)", what or "a call", self.driver)), 0)
end

-- The longest single host wait, in ms (vim.wait takes an int).
local HOST_WAIT_MS = 86400000

--- Outside a task on a loop with a host wait: run the host's events until
--- ready() (or s seconds passed, when given). Raises kind = "loop" when the
--- user interrupts (Ctrl-C in Neovim).
function Loop:host_block(ready, s)
  self.host_blocked = self.host_blocked + 1
  local ok, err = pcall(self.host_loop, self, ready, s)
  self.host_blocked = self.host_blocked - 1
  if not ok then error(err, 0) end
end

function Loop:host_loop(ready, s)
  self:sync()
  local deadline = s and now() + s
  while not ready() do
    local ms = HOST_WAIT_MS
    if deadline then
      local left = deadline - now()
      if left <= 0 then return end
      ms = math_min(ms, math_floor(left * 1000 + 0.999))
    end
    local ok, code = self.host_wait(ms, ready, 50)
    if not ok and code == -2 then
      error(loop_error("interrupted while waiting outside a task"), 0)
    end
  end
end

--- Outside a task, through the host: wait until transfer id made progress.
function Loop:host_await(id)
  local w = setmetatable({ woken = false }, Outside)
  self.waiting[id] = w
  local ok, err = pcall(self.host_block, self, function() return w.woken end)
  if self.waiting[id] == w then self.waiting[id] = nil end
  if not ok then error(err, 0) end
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
      self.drv.arm_sleep(self, s, item)
    end
    suspend(task)
    return
  end
  self:check_blocking("loop:sleep")
  if s <= 0 then return end
  if self.host_wait then
    self:host_block(function() return false end, s)
    return
  end
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
  if self.host_wait then
    -- Neovim runs the uv loop: wait through it until our tasks are done
    self:check_blocking("loop:run()")
    self:host_block(function() return self.alive == 0 end)
  else
    self.drv.run(self)
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
      if loop.host_wait then
        loop:host_block(function() return self:done() end)
      else
        while not self:done() do loop:step(nil, self) end
      end
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
    self:wake_ids(ids)
  end
  self.drv.close(self)
end

-- A private built-in loop per client by default (synchronous, as ever).
function M.is_loop(v) return type(v) == "table" and getmetatable(v) == Loop end

return M
