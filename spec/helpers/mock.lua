-- Test helper: start/stop bin/exa-agent-mock (always under lua5.4) from specs
-- that run under lua5.4, lua5.1 or luajit.
--   local mock = require "helpers.mock"
--   local srv = mock.start{ "--speed", "50" }   -- extra CLI arguments
--   srv.url, srv.port, srv.pid, srv:stats(), srv:curl{...}, srv:stop()
--   local beta, post = mock.start_both{ "--speed", "400" }   -- one on each API; mock.stop(beta, post)
local mock = {}

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
mock.quote = shell_quote

--- A file's bytes, or "" when it cannot be opened (not written yet).
function mock.slurp(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end

local function read_all(cmd)
  local f = assert(io.popen(cmd, "r"))
  local out = f:read("*a")
  f:close()
  return out
end

-- Repository root, from this file's own path (spec/helpers/mock.lua).
local function repo_root()
  local src = debug.getinfo(1, "S").source
  local path = src:sub(1, 1) == "@" and src:sub(2) or src
  local dir = path:match("^(.*)/spec/helpers/[^/]+$") or "."
  if dir == "" then dir = "/" end
  return (read_all("cd " .. shell_quote(dir) .. " && pwd"):gsub("%s+$", ""))
end
mock.root = repo_root()

local json
do
  local ok, m = pcall(require, "exa_mock.json") -- decode as the simulator does
  if ok then
    json = m
  else
    ok, m = pcall(require, "cjson")
    if ok then json = m else json = require "dkjson" end
  end
end
mock.json = json

local Server = {}
Server.__index = Server

--- Start the simulator with extra arguments; errors if it does not come up.
function mock.start(args)
  local parts = {}
  for i, a in ipairs(args or {}) do parts[i] = shell_quote(a) end
  local cmd = ("cd %s && unset LUA_PATH LUA_CPATH LUA_PATH_5_4 LUA_CPATH_5_4 LUA_INIT LUA_INIT_5_4; "
    .. "exec sh -c 'echo $$; exec lua5.4 bin/exa-agent-mock \"$@\"' exa-agent-mock %s")
    :format(shell_quote(mock.root), table.concat(parts, " "))
  local f = assert(io.popen(cmd, "r"))
  local pid = tonumber(f:read("*l") or "")
  local line = f:read("*l")
  local host, port = (line or ""):match("^listening http://(.-):(%d+)$")
  if not pid or not port then
    f:close()
    error("exa-agent-mock did not start (first line: " .. tostring(line) .. ")", 2)
  end
  local srv = setmetatable({
    pid = pid, port = tonumber(port), host = host, url = "http://" .. host .. ":" .. port, pipe = f,
  }, Server)
  if newproxy then -- Lua 5.1 / LuaJIT: stop on garbage collection too
    local p = newproxy(true)
    getmetatable(p).__gc = function() srv:stop() end
    srv.gc_guard = p
  else
    setmetatable(srv, { __index = Server, __gc = function(s) s:stop() end })
  end
  return srv
end

--- One simulator on each API, with the same extra arguments: the beta one,
--- then one with --api post-beta (if that one fails, the first is stopped).
function mock.start_both(args)
  local beta = mock.start(args)
  local post_args = {}
  for i, a in ipairs(args or {}) do post_args[i] = a end
  post_args[#post_args + 1], post_args[#post_args + 2] = "--api", "post-beta"
  local ok, post = pcall(mock.start, post_args)
  if not ok then
    beta:stop()
    error(post, 2)
  end
  return beta, post
end

--- Stops every server given (nil ones skipped).
function mock.stop(...)
  for i = 1, select("#", ...) do
    local srv = select(i, ...)
    if srv then srv:stop() end
  end
end

--- Stop the server with signal sig (default TERM) and reap it. Returns what
--- closing its pipe returns (under 5.4: true or nil, "exit" or "signal", code).
--- Idempotent.
function Server:stop(sig)
  if self.stopped then return end
  self.stopped = true
  os.execute("kill -" .. (sig or "TERM") .. " " .. self.pid .. " 2>/dev/null")
  return self.pipe:close() -- waits for the process
end

--- Run curl against the server. opts: method, path, headers (list of "K: V"
--- or map), body, sse (sets Accept), timeout, raw (extra curl args list).
--- Returns status (number), headers (lower-case map), body (string).
function Server:curl(opts)
  opts = opts or {}
  local hfile, bfile = os.tmpname(), os.tmpname()
  local a = { "curl", "-s", "-S", "-D", shell_quote(hfile), "-o", shell_quote(bfile), "-w", "'%{http_code}'" }
  if opts.method then a[#a + 1] = "-X " .. shell_quote(opts.method) end
  a[#a + 1] = "--max-time " .. (opts.timeout or 20)
  local headers = opts.headers or {}
  for k, v in pairs(headers) do
    local h = type(k) == "number" and v or (k .. ": " .. v)
    a[#a + 1] = "-H " .. shell_quote(h)
  end
  if opts.body then a[#a + 1] = "--data-binary " .. shell_quote(opts.body) end
  for _, x in ipairs(opts.raw or {}) do a[#a + 1] = shell_quote(x) end
  a[#a + 1] = shell_quote((opts.url or self.url) .. (opts.path or "/"))
  local status = tonumber(read_all(table.concat(a, " ") .. " 2>/dev/null")) or 0
  local hf, bf = io.open(hfile, "rb"), io.open(bfile, "rb")
  local htext = hf and hf:read("*a") or ""
  local body = bf and bf:read("*a") or ""
  if hf then hf:close() end
  if bf then bf:close() end
  os.remove(hfile)
  os.remove(bfile)
  local hs = {}
  for line in htext:gmatch("[^\r\n]+") do
    local k, v = line:match("^([^:]+):%s*(.-)%s*$")
    if k then hs[k:lower()] = v end
  end
  return status, hs, body
end

mock.BETA = "agent-2026-05-07"

--- API call with a key and the beta header. Returns status, headers, decoded
--- JSON (or nil), raw body. opts as for curl; key defaults to "test-key".
function Server:api(method, path, body, opts)
  opts = opts or {}
  local headers = { "Exa-Beta: " .. mock.BETA, "x-api-key: " .. (opts.key or "test-key"),
    "Content-Type: application/json" }
  for _, h in ipairs(opts.headers or {}) do headers[#headers + 1] = h end
  local status, hs, raw = self:curl { method = method, path = path, body = body, headers = headers,
    raw = opts.raw, timeout = opts.timeout }
  return status, hs, json.decode(raw), raw
end

local function sleep(s)
  os.execute("sleep " .. s)
end
mock.sleep = sleep

--- Poll a run until it is terminal (or timeout seconds pass). Returns the run.
function Server:wait_run(id, opts)
  opts = opts or {}
  local deadline = os.time() + (opts.timeout or 20)
  local run
  repeat
    local _, _, r = self:api("GET", "/agent/runs/" .. id, nil, opts)
    run = r
    if run and (run.status == "completed" or run.status == "failed" or run.status == "cancelled") then
      return run
    end
    sleep(0.05)
  until os.time() > deadline
  return run
end

--- Decoded GET /_mock/stats.
function Server:stats()
  local status, _, body = self:curl { path = "/_mock/stats" }
  assert(status == 200, "GET /_mock/stats returned " .. tostring(status))
  return assert(json.decode(body))
end

return mock
