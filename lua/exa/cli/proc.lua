-- exa.cli.proc: the processes the command line starts, in plain Lua through
-- /bin/sh: the simulator for --mock, the worker that runs a run's HTTP for
-- `run`, and the checks around them (is stderr a terminal, is a pid alive).
--
-- Why a worker: the library's calls wait inside C, where the stand-alone
-- interpreter's SIGINT handler cannot reach them (it raises "interrupted!"
-- only when Lua code runs again). The command line therefore never waits in
-- C during `run`: a worker process (the same script on the same Lua) does
-- the HTTP and writes one JSON record per line to a file, and the command
-- reads that file every few hundredths of a second. Ctrl-C lands between two
-- reads, and the command cancels the run with a call of its own. Worker and
-- simulator run in their own session (setsid), so a Ctrl-C at the terminal
-- reaches only the command, which decides what happens to them.
local io_stdin = io.stdin
local io_open, io_popen, os_execute, os_remove, os_tmpname, os_getenv =
  io.open, io.popen, os.execute, os.remove, os.tmpname, os.getenv
local type, tostring, tonumber, ipairs, select = type, tostring, tonumber, ipairs, select
local string_format, string_gsub, string_match = string.format, string.gsub, string.match
local table_concat = table.concat

local M = {}

--- 'quoted' for /bin/sh.
function M.quote(s)
  return "'" .. string_gsub(tostring(s), "'", "'\\''") .. "'"
end
local quote = M.quote

-- os.execute's success on every Lua: true (5.2+) or 0 (5.1).
local function succeeded(r)
  return r == true or r == 0
end

--- Is file descriptor 2 a terminal? EXA_AGENT_PROGRESS=1/0 decides instead.
function M.stderr_is_tty()
  local force = os_getenv("EXA_AGENT_PROGRESS")
  if force == "1" then return true end
  if force == "0" then return false end
  local term = os_getenv("TERM")
  if term == "dumb" then return false end
  return succeeded(os_execute("test -t 2"))
end

--- Is process pid running (not gone, not a zombie)?
function M.alive(pid)
  local f = io_open("/proc/" .. pid .. "/stat", "r")
  if f then
    local st = f:read("*a") or ""
    f:close()
    return string_match(st, "^%d+ %b() (%a)") ~= "Z"
  end
  local self_ = io_open("/proc/self/stat", "r")
  if self_ then self_:close() return false end -- /proc works: the pid is gone
  return succeeded(os_execute("kill -0 " .. pid .. " 2>/dev/null"))
end

function M.kill(pid, sig)
  if not pid then return end
  os_execute(string_format("kill -%s %d 2>/dev/null", sig or "TERM", pid))
end

--- A new private directory (mode 0700) for a command's files, or nil.
--- Not os.tmpname's /tmp/lua_XXXXXX names: those are shared by every Lua
--- on the machine, and whoever sweeps them would take ours too.
function M.tmpdir()
  local p = io_popen("mktemp -d /tmp/exa-agent.XXXXXXXX 2>/dev/null", "r")
  if not p then return nil end
  local dir = p:read("*l")
  p:close()
  if dir and string_match(dir, "^/tmp/exa%-agent%.%w+$") then return dir end
  return nil
end

--- Names for a command's temporary files: {path(name) -> string, done()}.
function M.scratch()
  local dir = M.tmpdir()
  local made = {}
  local t = {}
  function t.path(name)
    local p = dir and (dir .. "/" .. name) or os_tmpname()
    made[#made + 1] = p
    return p
  end
  --- Remove every file made here except those in keep, and the directory.
  function t.done(keep)
    for _, p in ipairs(made) do
      if not (keep and keep[p]) then os_remove(p) end
    end
    if dir then os_remove(dir) end
  end
  return t
end

--- Remove each path given (nil entries are skipped).
function M.remove(...)
  for i = 1, select("#", ...) do
    local p = select(i, ...)
    if p then os_remove(p) end
  end
end

--- The whole content of a file, or nil, message.
function M.read_file(path)
  local f, err
  if path == "-" then
    f = io_stdin
  else
    f, err = io_open(path, "rb")
  end
  if not f then return nil, err end
  local s = f:read("*a")
  if f ~= io_stdin then f:close() end
  if s == nil then return nil, "cannot read " .. path end
  return s
end

function M.write_file(path, s)
  local f, err = io_open(path, "wb")
  if not f then return nil, err end
  f:write(s)
  f:close()
  return true
end

-- Run cmd in the background in a session of its own; returns the sh
-- fragment. setsid is util-linux (Debian's essential set); without it the
-- process shares the terminal's Ctrl-C.
local function detached(cmd)
  return "if command -v setsid >/dev/null 2>&1; then setsid " .. cmd .. " & else " .. cmd .. " & fi"
end

--- Start the worker: `lua script __worker job` with stdout to out, stderr to
--- err. Returns its pid or nil, message.
function M.spawn(lua, script, args, out, err)
  local parts = { quote(lua), quote(script) }
  for _, a in ipairs(args) do parts[#parts + 1] = quote(a) end
  local cmd = table_concat(parts, " ") .. " </dev/null >" .. quote(out) .. " 2>" .. quote(err)
  local p = io_popen(detached(cmd) .. "; echo $!", "r")
  if not p then return nil, "cannot start " .. lua end
  local pid = tonumber(p:read("*l") or "")
  p:close()
  if not pid then return nil, "cannot start " .. lua end
  return pid
end

--- An appending file read line by line as it grows.
function M.tail(path)
  local t = { path = path, pos = 0, buf = "" }
  --- Complete new lines (a list), never blocking.
  function t:lines()
    local out = {}
    local f = io_open(self.path, "rb")
    if not f then return out end
    f:seek("set", self.pos)
    local data = f:read("*a") or ""
    f:close()
    self.pos = self.pos + #data
    local buf = self.buf .. data
    local start = 1
    while true do
      local nl = buf:find("\n", start, true)
      if not nl then break end
      out[#out + 1] = buf:sub(start, nl - 1)
      start = nl + 1
    end
    self.buf = buf:sub(start)
    return out
  end
  return t
end

--- Start bin/exa-agent-mock (Lua 5.4 + cqueues) on a free loopback port with
--- key; it stops by itself if this process dies. Returns {pid=, url=, line=}
--- or nil, message.
function M.start_mock(mock_bin, key, extra)
  local parts = { quote(mock_bin), "--host 127.0.0.1 --port 0 --api-key", quote(key), "--exit-with $PPID" }
  for _, a in ipairs(extra or {}) do parts[#parts + 1] = quote(a) end
  local cmd = table_concat(parts, " ") .. " </dev/null"
  local p = io_popen(detached(cmd) .. "; echo \"pid $!\"", "r")
  if not p then return nil, "cannot run /bin/sh" end
  local pid, line
  for _ = 1, 2 do
    local l = p:read("*l")
    if not l then break end
    if string_match(l, "^pid %d+$") then pid = tonumber(string_match(l, "%d+")) else line = l end
  end
  p:close()
  local url = line and string_match(line, "^listening (http://%S+)$")
  if not url then
    if pid then M.kill(pid) end
    return nil, "the simulator did not start (" .. mock_bin .. " needs lua5.4 and lua-cqueues)"
  end
  return { pid = pid, url = url, line = line }
end

return M
