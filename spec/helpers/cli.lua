-- Test helper: bin/exa-agent driven as a user drives it, a subprocess on the
-- Lua running the suite (EXA_TEST_LUA_TAG), with its files in a private
-- directory (not the /tmp/lua_XXXXXX names every Lua process shares).
--   local H = require "helpers.cli"
--   local code, out, err = H.cli("list --json", env)   -- exit status, stdout, stderr
--   local h = H.spawn("run q --json", env)             -- h.pid (the CLI itself), h.out(), h.wait()
local mock = require "helpers.mock"

local H = {}
local LUA = { ["5.1"] = "lua5.1", ["5.2"] = "lua5.2", ["5.3"] = "lua5.3", ["5.4"] = "lua5.4", jit = "luajit" }
H.LUA_BIN = LUA[os.getenv("EXA_TEST_LUA_TAG") or "5.4"]
local q = mock.quote

H.slurp = mock.slurp

local TMP
local made = 0
--- A new file name in this process's private directory.
function H.tmpfile()
  if not TMP then
    local p = assert(io.popen("mktemp -d /tmp/exa-cli-spec.XXXXXXXX"))
    TMP = p:read("*l")
    p:close()
    assert(TMP and TMP:match("^/tmp/exa%-cli%-spec%.%w+$"), "mktemp -d failed")
  end
  made = made + 1
  return TMP .. "/f" .. made
end

--- Remove the private directory (a spec's teardown).
function H.cleanup()
  if TMP then os.execute("rm -rf " .. q(TMP)) end
  TMP = nil
end

function H.put(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

function H.env_prefix(env)
  -- the script must find its own modules: no LUA_PATH from the test runner
  local parts = { "unset LUA_PATH LUA_CPATH LUA_INIT LUA_PATH_5_4 LUA_CPATH_5_4 LUA_INIT_5_4 EXA_API_KEY "
    .. "EXA_BASE_URL EXA_AGENT_MOCK_ARGS EXA_AGENT_PROGRESS;" }
  local keys = {}
  for k in pairs(env or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = "export " .. k .. "=" .. q(env[k]) .. ";" end
  return table.concat(parts, " ")
end

--- Run bin/exa-agent ARGS (a shell string); returns exit status, stdout, stderr.
--- wrap: a command prefix (e.g. strace ...).
function H.cli(args, env, stdin, wrap)
  local outf, errf = H.tmpfile(), H.tmpfile()
  local cmd = ("cd %s && %s %s %s bin/exa-agent %s >%s 2>%s <%s; echo $?"):format(q(mock.root), H.env_prefix(env),
    wrap or "", H.LUA_BIN, args, q(outf), q(errf), stdin and q(stdin) or "/dev/null")
  local p = assert(io.popen(cmd))
  local code = tonumber(p:read("*a"))
  p:close()
  local out, err = H.slurp(outf), H.slurp(errf)
  os.remove(outf)
  os.remove(errf)
  return code, out, err
end

--- Start bin/exa-agent in the background: {pid= (the CLI's own), out=, err=, wait = fn -> exit status}.
function H.spawn(args, env)
  local outf, errf, script = H.tmpfile(), H.tmpfile(), H.tmpfile()
  local f = assert(io.open(script, "w"))
  f:write(("cd %s\n%s\n%s bin/exa-agent %s >%s 2>%s </dev/null &\necho $!\nwait $!\necho \"rc $?\"\n")
    :format(q(mock.root), H.env_prefix(env), H.LUA_BIN, args, q(outf), q(errf)))
  f:close()
  local p = assert(io.popen("sh " .. q(script)))
  local pid = tonumber(p:read("*l"))
  local h = { pid = pid, outf = outf, errf = errf }
  function h.out() return H.slurp(outf) end
  function h.err() return H.slurp(errf) end
  function h.wait()
    local line = p:read("*l")
    p:close()
    os.remove(script)
    return tonumber((line or ""):match("^rc (%d+)$"))
  end
  function h.cleanup()
    os.remove(outf)
    os.remove(errf)
  end
  return h
end

--- fn() until it returns a true value (at most seconds, default 20); that value or nil.
function H.until_true(fn, seconds)
  local deadline = os.time() + (seconds or 20)
  repeat
    local v = fn()
    if v then return v end
    mock.sleep(0.05)
  until os.time() > deadline
  return nil
end

--- jq FILTER over text: output (raw), exit status.
function H.jq(filter, text)
  local inf = H.tmpfile()
  H.put(inf, text)
  local p = assert(io.popen(("jq -r %s <%s; echo \"jq-rc $?\""):format(q(filter), q(inf))))
  local s = p:read("*a")
  p:close()
  os.remove(inf)
  local rc = tonumber(s:match("jq%-rc (%d+)%s*$"))
  return (s:gsub("jq%-rc %d+%s*$", "")), rc
end

function H.lines(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

--- Running and not a zombie (a reaper may be slow to collect it).
function H.alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if not f then return false end
  local st = f:read("*a")
  f:close()
  return st:match("^%d+ %b() (%a)") ~= "Z"
end

--- The pids of pid's children (from /proc), in a list.
function H.children(pid)
  local p = assert(io.popen("cat /proc/[0-9]*/stat 2>/dev/null"))
  local kids = {}
  for line in p:lines() do
    local child, ppid = line:match("^(%d+) %b() %a (%d+)")
    if ppid and tonumber(ppid) == pid then kids[#kids + 1] = tonumber(child) end
  end
  p:close()
  return kids
end

return H
