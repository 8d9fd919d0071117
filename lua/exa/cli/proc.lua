-- exa.cli.proc: the one process the command line may start, the simulator
-- (--mock, `exa-agent mock`), in plain Lua through /bin/sh, and the checks
-- around it (is stderr a terminal, is a pid alive), and reading input files.
-- The simulator runs in its own session (setsid), so a Ctrl-C at the terminal
-- reaches only the command, which decides what happens to it.
local io_stdin = io.stdin
local io_open, io_popen, os_execute, os_getenv = io.open, io.popen, os.execute, os.getenv
local tostring, tonumber, ipairs = tostring, tonumber, ipairs
local string_format, string_gsub, string_match = string.format, string.gsub, string.match
local table_concat = table.concat

local clock = require "exa.loop.clock"
local core = require "exa.core"

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
  return core.isatty(2)
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

-- Run cmd in the background in a session of its own; returns the sh
-- fragment. setsid is util-linux (Debian's essential set); without it the
-- process shares the terminal's Ctrl-C.
local function detached(cmd)
  return "if command -v setsid >/dev/null 2>&1; then setsid " .. cmd .. " & else " .. cmd .. " & fi"
end

--- Stop process pid (SIGTERM) and wait, at most 3 s, until it is gone.
function M.stop(pid)
  if not pid then return end
  M.kill(pid)
  local deadline = clock.now() + 3
  while M.alive(pid) and clock.now() < deadline do clock.sleep(0.02) end
end

--- Start bin/exa-agent-mock (Lua 5.4 + cqueues) on a free loopback port with
--- key; it stops by itself if this process dies (unless o.detach). Returns
--- {pid=, url=, line=} or nil, message.
function M.start_mock(mock_bin, key, extra, o)
  if not succeeded(os_execute("command -v " .. quote(mock_bin) .. " >/dev/null 2>&1")) then
    return nil, "the simulator is not installed (" .. mock_bin .. " not found): install the exa-agent-mock "
      .. "rock (luarocks --lua-version 5.4 install exa-agent-mock), or run bin/exa-agent from a checkout"
  end
  local parts = { quote(mock_bin), "--host 127.0.0.1 --port 0 --api-key", quote(key) }
  if not (o and o.detach) then parts[#parts + 1] = "--exit-with $PPID" end
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
