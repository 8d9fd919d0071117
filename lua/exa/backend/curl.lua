-- exa.backend.curl: the default backend, transfers on exa.core's curl multi.
-- A handle's calls wait through the loop: inside a task they yield until
-- the transfer made progress; outside a task on a built-in loop they block
-- in C as the synchronous API always did, and on a loop with a host wait
-- (Neovim) they wait through it. See docs/architecture.md §2-3.
local setmetatable, pcall, error = setmetatable, pcall, error

local core = require "exa.core"

local M = {}

local Handle = {}
Handle.__index = Handle

-- Call t:method(0) until it is ready, yielding the task in between; or,
-- outside a task, block in C (built-in loop) or wait through the host.
local function waited(h, method)
  local t, loop = h.t, h.loop
  local inside = loop:current()
  if not inside then
    loop:check_blocking("a request")
    if not loop.host_wait then return t[method](t) end
  end
  while true do
    local a, b, c = t[method](t, 0)
    if a ~= false then return a, b, c end
    if inside then
      loop:await(h.id)
    else
      local ok, err = pcall(loop.host_await, loop, h.id)
      if not ok then h:close(); error(err, 0) end
    end
    if not h.t then -- closed (by another task) while this one waited
      return nil, { kind = "closed", message = "the transfer was closed while a task waited on it" }
    end
    t = h.t
  end
end

function Handle:headers() return waited(self, "headers") end
-- The per-event call: an event already framed is taken without the task
-- bookkeeping of waited() (on the built-in loop, where waited() would take it
-- the same way inside a task or block for it outside one).
function Handle:next_event()
  local t = self.t
  if t and self.loop.driver == "builtin" then
    local a, b, c = t:next_event(0)
    if a ~= false then return a, b, c end
  end
  return waited(self, "next_event")
end
function Handle:finish() return waited(self, "finish") end
function Handle:info() return self.t:info() end

function Handle:close()
  local t = self.t
  if t then
    self.t = nil
    t:close()
    self.loop:wake(self.id) -- a closed transfer reports no progress: its waiter would sleep forever
    self.loop:sync()
  end
end

--- cfg.loop: the exa.loop whose multi carries the transfers.
function M.new(cfg)
  local loop = cfg.loop
  local backend = { name = "curl", loop = loop }
  function backend.start(req)
    local t = loop:multi():request(req)
    loop:sync()
    -- json: the core gives the events in the stream's final shape (data decoded)
    return setmetatable({ t = t, id = t:id(), loop = loop, json = req.json }, Handle)
  end
  function backend.sleep(s) loop:sleep(s) end
  backend.now = core.monotime
  function backend.close()
    -- the loop (and its pool) may be shared; a private one is closed with the
    -- client: its transfers end "closed", their waiters wake, and a uv loop's
    -- polls and timers are released
    if cfg.private then loop:close() end
  end
  return backend
end

return M
