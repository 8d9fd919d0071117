-- Busted side of the scenario specs: the tests of spec/ngx/<name>.lua run
-- inside nginx (helpers/ngx_runner.lua), one busted `it` each.
--
--   require("helpers.ngx_scenarios").define("client_runs", { describe = describe, it = it,
--     setup = setup, teardown = teardown, pending = pending })   -- busted's functions
--
-- A scenario file returns
--   { tests = { {"name", function(ctx) ... end}, ... },      -- run inside nginx
--     mocks = { main = {"--speed", "400"}, ... },             -- simulators to start (busted side)
--     peer = true,                                            -- start spec/helpers/http_peer.lua
--     before = function(env) ... end, after = function(env) end,  -- busted side, optional
--     nginx = function(env) return { http = "...", server = "..." } end }  -- extra config, optional
-- env (busted side) = {mocks = {name = url}, peer = url, ...}; whatever `before`
-- adds to env.ctx reaches the tests as ctx.data.
--
-- nginx runs LuaJIT whatever Lua busted runs under, so these specs run once,
-- in the LuaJIT pass of scripts/test.sh (or whenever EXA_TEST_LUA_TAG is unset).
local nginx = require "helpers.nginx"
local mock = require "helpers.mock"
local assert = require "luassert"

local M = {}

M.RUNNER = [[
    client_body_buffer_size 1m;
    location = /scenario {
      lua_socket_log_errors off;
      content_by_lua_block { require("helpers.ngx_runner").handle() }
    }
]]

function M.runs_here()
  local tag = os.getenv("EXA_TEST_LUA_TAG")
  if tag and tag ~= "jit" then return false, "runs once, in the LuaJIT pass (nginx's Lua is LuaJIT)" end
  local ok, why = nginx.available()
  if not ok then return false, why end
  return true
end

local function start_peer()
  local f = assert(io.popen("echo $$; exec lua5.4 " .. nginx.root .. "/spec/helpers/http_peer.lua 900"))
  local pid = assert(tonumber(f:read("*l")), "peer pid")
  local port = assert(tonumber(f:read("*l")), "peer port")
  return { pipe = f, pid = pid, port = port, url = "http://127.0.0.1:" .. port }
end

local function stop_peer(p)
  if p then
    os.execute("kill " .. p.pid .. " 2>/dev/null")
    p.pipe:close()
  end
end
M.start_peer, M.stop_peer = start_peer, stop_peer

--- Run one test of a scenario file in a running nginx; returns the decoded answer.
function M.run(srv, file, test, ctx)
  local json = mock.json
  local status, body = srv:request{ method = "POST", path = "/scenario", timeout = 300,
    headers = { "Content-Type: application/json" },
    body = json.encode{ file = file, test = test, ctx = ctx } }
  local ok, res = pcall(json.decode, body)
  if status ~= 200 or not ok or type(res) ~= "table" then
    return { ok = false, error = ("runner answered HTTP %d: %s\nerror.log:\n%s"):format(status, body,
      srv:error_log():sub(-3000)) }
  end
  return res
end

function M.define(file, b)
  local describe, it, setup, teardown, pending = b.describe, b.it, b.setup, b.teardown, b.pending
  local suite = dofile(nginx.root .. "/spec/ngx/" .. file .. ".lua")
  describe("through the ngx backend (spec/ngx/" .. file .. ".lua)", function()
    local run, why = M.runs_here()
    local env = { mocks = {}, ctx = {} }
    local mocks, peer, srv = {}, nil, nil

    setup(function()
      if not run then return end
      for name, args in pairs(suite.mocks or {}) do
        mocks[name] = mock.start(args)
        env.mocks[name] = mocks[name].url
      end
      if suite.peer then
        peer = start_peer()
        env.peer = peer.url
      end
      if suite.before then suite.before(env) end
      local extra = suite.nginx and suite.nginx(env) or {}
      srv = nginx.start{ http = extra.http, server = M.RUNNER .. (extra.server or ""), main = extra.main }
      env.nginx = srv
      env.ctx.mocks, env.ctx.peer, env.ctx.port2 = env.mocks, env.peer, srv.port2
    end)

    teardown(function()
      if srv then srv:stop() end
      if suite.after then suite.after(env) end
      stop_peer(peer)
      for _, m in pairs(mocks) do m:stop() end
    end)

    for _, t in ipairs(suite.tests) do
      local name = t[1]
      it(name, function()
        if not run then return pending(why) end
        local res = M.run(srv, file, name, env.ctx)
        assert.is_true(res.ok, tostring(res.error))
      end)
    end
  end)
end

return M
