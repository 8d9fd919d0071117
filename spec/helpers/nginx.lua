-- Test helper: a throwaway nginx with the lua module, for specs that run
-- under busted in any Lua (it only writes files, spawns processes and
-- talks HTTP through curl).
--
--   local nginx = require "helpers.nginx"
--   local srv = nginx.start{ http = "...", server = "...", env = { "NAME" } }
--   srv.port, srv.port2, srv.url, srv.prefix, srv.pid
--   srv:request{ path =, method =, body =, headers = {...}, timeout = } -> status, body
--   srv:error_log() -> text;  srv:stop()
--
-- It writes <prefix>/conf/nginx.conf (worker_processes 1, everything under a
-- temp dir, a free loopback port, the Debian lua module and the NDK it
-- needs, lua_package_path/cpath at this checkout's lua/, spec/ and
-- build/jit/), starts `nginx -p prefix -c conf` (it daemonizes), waits until
-- it answers, and stop() ends it by the PID in its pid file.
local M = {}

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.quote = shell_quote

local function read_all(cmd)
  local f = assert(io.popen(cmd, "r"))
  local out = f:read("*a")
  f:close()
  return out
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function write_file(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end
M.write_file = write_file

local function repo_root()
  local src = debug.getinfo(1, "S").source
  local path = src:sub(1, 1) == "@" and src:sub(2) or src
  local dir = path:match("^(.*)/spec/helpers/[^/]+$") or "."
  if dir == "" then dir = "/" end
  return (read_all("cd " .. shell_quote(dir) .. " && pwd"):gsub("%s+$", ""))
end
M.root = repo_root()

M.NGINX = os.getenv("EXA_NGINX") or "/usr/sbin/nginx"
M.MODULES_DIR = "/usr/lib/nginx/modules"
-- Debian's snippets name the modules in load order: the NDK before lua.
M.MODULE_CONFS = { "/usr/share/nginx/modules-available/mod-http-ndk.conf",
  "/usr/share/nginx/modules-available/mod-http-lua.conf" }

--- The load_module lines, with absolute paths (the snippets' paths are
--- relative to Debian's prefix, which is not ours).
function M.load_modules()
  local lines = {}
  for _, conf in ipairs(M.MODULE_CONFS) do
    local text = read_file(conf) or ""
    for name in text:gmatch("load_module%s+[^;]-([%w_.-]+%.so)%s*;") do
      lines[#lines + 1] = ("load_module %s/%s;"):format(M.MODULES_DIR, name)
    end
  end
  if #lines == 0 then -- no snippets: the Debian file names
    lines = { "load_module " .. M.MODULES_DIR .. "/ndk_http_module.so;",
      "load_module " .. M.MODULES_DIR .. "/ngx_http_lua_module.so;" }
  end
  return table.concat(lines, "\n")
end

--- true, or false and why nginx cannot run here.
function M.available()
  if not read_file(M.NGINX) then return false, M.NGINX .. " is missing (apt-get install nginx)" end
  if not read_file(M.MODULES_DIR .. "/ngx_http_lua_module.so") then
    return false, "the lua module is missing (apt-get install libnginx-mod-http-lua)"
  end
  if not read_file(M.root .. "/build/jit/exa/core.so") then
    return false, "build/jit/exa/core.so is missing (make build)"
  end
  return true
end

local seeded = false
local function random_port()
  if not seeded then
    local noise = tonumber(tostring({}):match("0x(%x+)") or "0", 16) or 0
    math.randomseed((os.time() + math.floor(os.clock() * 1e6) + noise) % 2147483647)
    seeded = true
  end
  return math.random(20000, 59999)
end

local function is_root()
  return read_all("id -u 2>/dev/null"):match("^0%s*$") ~= nil
end

local function config(o, prefix, port, port2)
  local env = {}
  for _, name in ipairs(o.env or {}) do env[#env + 1] = "env " .. name .. ";" end
  for name in pairs(o.setenv or {}) do env[#env + 1] = "env " .. name .. ";" end
  local root = M.root
  return (table.concat({
    M.load_modules(),
    "worker_processes 1;",
    "daemon on;",
    "master_process on;",
    "pid " .. prefix .. "/nginx.pid;",
    "error_log " .. prefix .. "/logs/error.log " .. (o.log_level or "notice") .. ";",
    is_root() and "user root root;" or "", -- workers read the checkout as we do
    table.concat(env, "\n"),
    o.main or "",
    "events { worker_connections 4096; }",
    "http {",
    "  access_log off;",
    "  client_body_temp_path " .. prefix .. "/tmp/body;",
    "  proxy_temp_path " .. prefix .. "/tmp/proxy;",
    "  fastcgi_temp_path " .. prefix .. "/tmp/fastcgi;",
    "  uwsgi_temp_path " .. prefix .. "/tmp/uwsgi;",
    "  scgi_temp_path " .. prefix .. "/tmp/scgi;",
    ('  lua_package_path "%s%s/lua/?.lua;%s/lua/?/init.lua;%s/spec/?.lua;;";'):format(o.lua_path or "", root,
      root, root),
    ('  lua_package_cpath "%s/build/jit/?.so;;";'):format(root),
    o.http or "",
    "  server {",
    "    listen 127.0.0.1:" .. port .. ";",
    "    location = /__ready { return 200 \"ready\\n\"; }",
    o.server or "",
    "  }",
    "}",
    "",
  }, "\n"):gsub("%${PORT}", tostring(port)):gsub("%${PORT2}", tostring(port2)))
end

local Server = {}
Server.__index = Server

--- Start nginx. o: http (directives in http{}), server (directives and
--- locations in the server{} block), main (top-level directives), env (names
--- of environment variables the worker keeps), setenv (a map of variables to
--- set for nginx and keep), lua_path (entries put before the checkout's in
--- lua_package_path, ";"-terminated), log_level. "${PORT}" in any of
--- them is replaced with the port, "${PORT2}" with a second free port (srv.port2)
--- for a second listen directive. Errors if nginx does not come up.
function M.start(o)
  o = o or {}
  local ok, why = M.available()
  if not ok then error("nginx: " .. why, 2) end
  local prefix = os.tmpname()
  os.remove(prefix)
  assert(os.execute("mkdir -p " .. shell_quote(prefix .. "/logs") .. " " .. shell_quote(prefix .. "/conf")
    .. " " .. shell_quote(prefix .. "/tmp")))
  local last = ""
  for _ = 1, 20 do
    local port, port2 = random_port(), random_port()
    local conf = prefix .. "/conf/nginx.conf"
    write_file(conf, config(o, prefix, port, port2))
    local vars = {}
    for name, value in pairs(o.setenv or {}) do vars[#vars + 1] = name .. "=" .. shell_quote(value) end
    local out = read_all(("env %s %s -p %s -c %s 2>&1; echo \"rc=$?\""):format(table.concat(vars, " "),
      shell_quote(M.NGINX), shell_quote(prefix .. "/"), shell_quote(conf)))
    local rc = tonumber(out:match("rc=(%d+)%s*$"))
    if rc == 0 then
      local srv = setmetatable({ port = port, port2 = port2, prefix = prefix, conf = conf,
        url = "http://127.0.0.1:" .. port }, Server)
      for _ = 1, 100 do
        srv.pid = srv.pid or tonumber(read_file(prefix .. "/nginx.pid") or "")
        local status = srv:request{ path = "/__ready", timeout = 2 }
        if status == 200 and srv.pid then return srv end
        os.execute("sleep 0.05")
      end
      srv:stop()
      error("nginx started but never answered; error log:\n" .. (read_file(prefix .. "/logs/error.log") or ""), 2)
    end
    last = out
    if not out:find("Address already in use", 1, true) then break end
  end
  local log = read_file(prefix .. "/logs/error.log") or ""
  os.execute("rm -rf " .. shell_quote(prefix))
  error("nginx did not start:\n" .. last .. log, 2)
end

local function alive(pid)
  local r = os.execute("kill -0 " .. pid .. " 2>/dev/null")
  return r == true or r == 0
end

--- Stop nginx (TERM to the master, by its PID; KILL after 5 s) and remove
--- its prefix unless EXA_KEEP_NGINX is set. Idempotent.
function Server:stop()
  if self.stopped then return end
  self.stopped = true
  local pid = self.pid or tonumber(read_file(self.prefix .. "/nginx.pid") or "")
  if pid then
    os.execute("kill -TERM " .. pid .. " 2>/dev/null")
    for _ = 1, 100 do
      if not alive(pid) then break end
      os.execute("sleep 0.05")
    end
    if alive(pid) then os.execute("kill -KILL " .. pid .. " 2>/dev/null") end
  end
  if not os.getenv("EXA_KEEP_NGINX") then os.execute("rm -rf " .. shell_quote(self.prefix)) end
end

function Server:error_log()
  return read_file(self.prefix .. "/logs/error.log") or ""
end

--- One HTTP request with curl. Returns status (0 when none), body.
function Server:request(r)
  local bfile = os.tmpname()
  local a = { "curl", "-s", "-o", shell_quote(bfile), "-w", "'%{http_code}'", "--max-time", tostring(r.timeout or 60) }
  if r.method then a[#a + 1] = "-X " .. shell_quote(r.method) end
  for _, h in ipairs(r.headers or {}) do a[#a + 1] = "-H " .. shell_quote(h) end
  local infile
  if r.body then
    infile = os.tmpname()
    write_file(infile, r.body)
    a[#a + 1] = "--data-binary @" .. shell_quote(infile)
  end
  a[#a + 1] = shell_quote(self.url .. (r.path or "/"))
  local status = tonumber(read_all(table.concat(a, " ") .. " 2>/dev/null")) or 0
  local body = read_file(bfile) or ""
  os.remove(bfile)
  if infile then os.remove(infile) end
  return status, body
end

return M
