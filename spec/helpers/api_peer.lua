-- Test helper: start/stop spec/helpers/api_peer_server.lua (a raw peer that
-- plays the Exa Agent API with scripted cuts; always under LuaJIT, whatever
-- Lua runs the spec) and talk to its control port.
--
--   local peer = require "helpers.api_peer"
--   local p = peer.start()        p.url (the API's base_url), p.pid
--   p:session{ key = K, n = 8, plan = { create = { {cut = {...}} } } }  -> {runs = {ids}}
--   p:log(K)                      -> {requests = {...}, runs = {...}, conns = n, gone = bool}
--   p:stop()
-- See the server file for sessions, directives and the log.
local core = require "exa.core"
local json = require "exa.wire.json"
local mock = require "helpers.mock"

local M = {}
local Peer = {}
Peer.__index = Peer

--- Start a peer; errors if it does not come up.
function M.start(lifetime)
  local cmd = ("cd %s && unset LUA_PATH LUA_CPATH LUA_INIT; "
    .. "exec sh -c 'echo $$; exec luajit spec/helpers/api_peer_server.lua %d'")
    :format(mock.quote(mock.root), lifetime or 600)
  local f = assert(io.popen(cmd, "r"))
  local pid = tonumber(f:read("*l") or "")
  local line = f:read("*l")
  local api, ctl = (line or ""):match("^api (%d+) ctl (%d+)$")
  if not pid or not api then
    f:close()
    error("api_peer did not start (first line: " .. tostring(line) .. ")", 2)
  end
  local p = setmetatable({ pid = pid, port = tonumber(api), url = "http://127.0.0.1:" .. api,
    ctl = "http://127.0.0.1:" .. ctl, pipe = f, m = core.multi() }, Peer)
  if newproxy then -- Lua 5.1 / LuaJIT: stop on garbage collection too
    local g = newproxy(true)
    getmetatable(g).__gc = function() p:stop() end
    p.gc_guard = g
  else
    setmetatable(p, { __index = Peer, __gc = function(s) s:stop() end })
  end
  return p
end

-- One control request; the decoded answer.
function Peer:control(method, path, body)
  local t = self.m:request{ method = method, url = self.ctl .. path, body = body,
    headers = { "Content-Type: application/json", "Connection: close" }, timeout = 10000 }
  local res, err = t:finish()
  t:close()
  assert(res, "api_peer control: " .. tostring(err and err.message))
  assert(res.status == 200, "api_peer control: HTTP " .. tostring(res.status) .. " " .. tostring(res.body))
  return assert(json.decode(res.body))
end

--- Set up the session of key o.key (replacing any earlier one).
function Peer:session(o)
  return self:control("POST", "/session", assert(json.encode(o)))
end

--- What the peer saw: the requests of key (every request when key is nil),
--- the key's runs, the API connections accepted so far.
function Peer:log(key)
  return self:control("GET", "/log" .. (key and ("?key=" .. key) or ""))
end

--- Stop the peer (TERM) and reap it. Idempotent.
function Peer:stop()
  if self.stopped then return end
  self.stopped = true
  os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
  self.pipe:close()
end

--- Every value of header name (lower case) in a logged request's raw lines.
function M.header_values(req, name)
  local out = {}
  for _, l in ipairs(req.lines) do
    local k, v = l:match("^([^:]+):%s*(.-)%s*$")
    if k and k:lower() == name then out[#out + 1] = v end
  end
  return out
end

return M
