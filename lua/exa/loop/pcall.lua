-- exa.loop.pcall: a pcall that a loop task may yield through, on every Lua.
-- Lua 5.2+, 5.4 and LuaJIT can yield across pcall; PUC Lua 5.1 cannot
-- ("attempt to yield across metamethod/C-call boundary"). There the function
-- runs in a coroutine of its own whose yields are passed up to the task and
-- whose resumptions are passed down (as coxpcall does); M.root() maps such
-- a coroutine back to the task's, so loop:current() still finds the task.
local coroutine_create, coroutine_resume, coroutine_yield, coroutine_status, coroutine_running =
  coroutine.create, coroutine.resume, coroutine.yield, coroutine.status, coroutine.running
local pcall, select, setmetatable, package, _VERSION = pcall, select, setmetatable, package, _VERSION
local unpack = table.unpack or unpack -- luacheck: ignore

local M = {}

local parent = setmetatable({}, { __mode = "k" })

-- Can pcall be yielded across here? Decided from the VM, not by trying: a
-- test coroutine at load time would yield through require inside OpenResty,
-- whose coroutine.resume itself yields to nginx's scheduler.
local function native_yields()
  return _VERSION ~= "Lua 5.1" or package.loaded.jit ~= nil
end

local function pack(...) return { n = select("#", ...), ... } end

if native_yields() then
  M.pcall = pcall
  function M.root(co) return co end
else
  function M.pcall(f, ...)
    local co = coroutine_create(f)
    parent[co] = coroutine_running()
    local res = pack(coroutine_resume(co, ...))
    while true do
      if not res[1] then return false, res[2] end
      if coroutine_status(co) == "dead" then return true, unpack(res, 2, res.n) end
      -- f yielded: pass it up, and what the outside resumes us with, down
      res = pack(coroutine_resume(co, coroutine_yield(unpack(res, 2, res.n))))
    end
  end
  function M.root(co)
    while parent[co] do co = parent[co] end
    return co
  end
end

return M
