-- Signals as loop events: exa.core's self-pipe (core.signals), the multi
-- watching a host's fd like a transfer (m:watch), loop:readable and
-- loop:signals; dispositions restored on close.
local core = require "exa.core"
local exa = require "exa"
local mock = require "helpers.mock"
local H = require "helpers.cli"

local q = mock.quote

local function my_pid()
  local f = assert(io.open("/proc/self/stat"))
  local pid = f:read("*l"):match("^(%d+)")
  f:close()
  return pid
end

-- `sh -c CODE`, then kill -SIG <the Lua's pid> after a moment, in the background.
local function signal_me_soon(sig)
  os.execute(("(sleep 0.2; kill -%s %s) &"):format(sig, my_pid()))
end

-- Run a Lua chunk in a fresh interpreter (this suite's), with sh prefix
-- commands; returns the shell's exit status.
local function lua_in(code, prefix)
  local file = H.tmpfile()
  H.put(file, code)
  local cmd = ("cd %s && %s %s -e %s %s >/dev/null 2>&1; echo $?"):format(q(mock.root), prefix or "",
    H.LUA_BIN, q('package.path = "lua/?.lua;lua/?/init.lua;" .. package.path; package.cpath = "build/'
      .. (os.getenv("EXA_TEST_LUA_TAG") or "5.4") .. '/?.so;" .. package.cpath'), q(file))
  local p = assert(io.popen(cmd))
  local rc = tonumber(p:read("*a"))
  p:close()
  os.remove(file)
  return rc
end

describe("core.signals", function()
  teardown(H.cleanup)

  it("reports each signal caught, in order, through a readable fd; one watcher at a time", function()
    local s = core.signals{ "USR1", "USR2" }
    assert.is_number(s:fd())
    assert.same({}, s:read())
    assert.has_error(function() core.signals{ "USR1" } end, "exa.signals: one watcher at a time (close the other first)")
    os.execute("kill -USR1 " .. my_pid() .. "; kill -USR2 " .. my_pid())
    assert.same({ "USR1", "USR2" }, s:read())
    assert.same({}, s:read())
    s:close()
    s:close() -- idempotent
    assert.has_error(function() s:read() end, "exa.signals: closed")
    local again = core.signals{ "USR1" } -- the slot is free again
    again:close()
  end)

  it("refuses names it does not know", function()
    assert.has_error(function() core.signals{ "KILL" } end)
    assert.has_error(function() core.signals{} end)
  end)

  it("close restores the disposition from before: the default kills again", function()
    -- the default action of SIGUSR1 ends the process: 128 + 10
    assert.equal(138, lua_in([[
      local s = require("exa.core").signals{ "USR1" }
      s:close()
      local pid = io.open("/proc/self/stat"):read("*l"):match("^%d+")
      os.execute("kill -USR1 " .. pid)
      os.exit(0)
    ]]))
    -- caught while open: the process goes on
    assert.equal(0, lua_in([[
      local s = require("exa.core").signals{ "USR1" }
      local pid = io.open("/proc/self/stat"):read("*l"):match("^%d+")
      os.execute("kill -USR1 " .. pid)
      assert(s:read()[1] == "USR1")
      os.exit(0)
    ]]))
  end)

  it("a signal of the keep list that was ignored stays ignored (nohup), others are caught", function()
    assert.equal(0, lua_in([[
      local s = require("exa.core").signals({ "HUP", "USR1" }, { "HUP" })
      assert(#s:ignored() == 1 and s:ignored()[1] == "HUP")
      local pid = io.open("/proc/self/stat"):read("*l"):match("^%d+")
      os.execute("kill -HUP " .. pid .. "; kill -USR1 " .. pid)
      local got = s:read()
      assert(#got == 1 and got[1] == "USR1", table.concat(got, ","))
      s:close()
      os.exit(0)
    ]], "trap '' HUP;"))
    -- without the keep list, an ignored signal is caught all the same
    assert.equal(0, lua_in([[
      local s = require("exa.core").signals{ "HUP" }
      assert(#s:ignored() == 0)
      local pid = io.open("/proc/self/stat"):read("*l"):match("^%d+")
      os.execute("kill -HUP " .. pid)
      assert(s:read()[1] == "HUP")
      os.exit(0)
    ]], "trap '' HUP;"))
  end)
end)

describe("loop:signals and loop:readable", function()
  local srv
  setup(function() srv = mock.start{ "--speed", "100" } end)
  teardown(function() srv:stop() end)

  it("a task waiting for a signal wakes while another task's transfer is still in flight", function()
    local loop = exa.loop()
    local client = exa.new{ api_key = "k", base_url = srv.url, loop = loop,
      headers = { ["X-Mock-Fault"] = "delay-ms=3000" } }
    local sigs = loop:signals{ "USR1" }
    local slow = loop:spawn(function() return client.runs:list{ limit = 1 } end)
    local waiter = loop:spawn(function() return sigs:next() end)
    signal_me_soon("USR1")
    assert.equal("USR1", waiter:wait())
    assert.is_false(slow:done()) -- the list answer is 3 s away: the signal woke the loop, not the transfer
    sigs:close()
    assert.is_table(slow:wait().data)
  end)

  it("outside a task a built-in loop drives until the fd is readable; unwatch forgets it", function()
    local loop = exa.loop()
    local sigs = loop:signals{ "USR2" }
    signal_me_soon("USR2")
    loop:readable(sigs.fd)
    assert.equal(0, loop.nwatch) -- watched only while a task waits
    assert.equal("USR2", loop:spawn(sigs.next, sigs):wait())
    local waiter = loop:spawn(sigs.next, sigs)
    loop:run_runnable()
    assert.equal(1, loop.nwatch)
    sigs:close() -- the waiter is resumed, and next() says: closed
    assert.is_nil(waiter:wait())
    assert.equal(0, loop.nwatch)
    loop:run() -- nothing left: returns
  end)

  it("on a cqueues loop too (5.4 with lua-cqueues): the pump's epoll fd carries the signal", function()
    local has_cq, cqueues = pcall(require, "cqueues")
    if not has_cq then
      assert.is_true(_VERSION ~= "Lua 5.4", "lua-cqueues is missing for Lua 5.4")
      return -- cqueues is built for 5.4 only here
    end
    local cq = cqueues.new()
    local loop = exa.loop{ cqueues = cq }
    if not loop:multi():fd() then -- a build without epoll: the pump has no fd to poll
      local res
      loop:spawn(function() res = { pcall(loop.readable, loop, 0) } end)
      assert(cq:loop())
      assert.is_false(res[1])
      assert.matches("needs epoll", tostring(res[2]), 1, true)
      return
    end
    local sigs = loop:signals{ "USR1" }
    local got
    loop:spawn(function() got = sigs:next() end)
    signal_me_soon("USR1")
    assert(cq:loop())
    assert.equal("USR1", got)
    sigs:close()
  end)

  it("refuses a uv loop", function()
    local fake_uv = { new_timer = function() end }
    local loop = exa.loop{ uv = fake_uv }
    local ok, err = pcall(loop.readable, loop, 0)
    assert.is_false(ok)
    assert.equal("loop", err.kind)
  end)
end)
