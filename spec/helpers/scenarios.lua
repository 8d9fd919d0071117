-- Scenario specs written once, run through both backends (issue 13): each
-- test of spec/scenarios/<name>.lua runs in-process through the curl backend
-- (exa.new's default transport) and inside nginx through the ngx backend
-- (helpers/ngx_runner.lua), one busted `it` per test and backend, in the
-- style of Lua-cURLv3's impl(variant).
--
--   require("helpers.scenarios").define("client_runs", { describe = describe, it = it,
--     setup = setup, teardown = teardown, pending = pending })   -- busted's functions
--
-- A scenario file returns
--   { tests = { {"name", function(ctx) ... end [, {only = "ngx"|"curl"}]}, ... },
--     backends = {"ngx"},                                     -- optional: which backends (default both)
--     mocks = { main = {"--speed", "400"}, ... },             -- simulators to start (busted side)
--     peer = true,                                            -- start spec/helpers/http_peer.lua
--     before = function(env) ... end, after = function(env) end,  -- busted side, optional
--     nginx = function(env) return { http = "...", server = "..." } end }  -- extra config, optional
-- env (busted side) = {mocks = {name = url}, peer = url, ...}; whatever `before`
-- adds to env.ctx reaches the tests as ctx.data. Each backend gets simulators
-- of its own, so no test sees the other backend's runs.
--
-- The context a test gets is the same on both backends: ctx.backend_name
-- ("curl" or "ngx"), ctx.exa, ctx.json, ctx.client(o) (closed after the
-- test), ctx.mock(name) (its URL), ctx.stats(name), ctx.stored(id, name, key),
-- ctx.sleep(s), ctx.now(), ctx.fetch(url), ctx.start(req) (a raw request on
-- the backend's handle interface), ctx.data, ctx.peer; inside nginx
-- also ctx.backend (the ngx backend itself, for spec/scenarios/backend.lua).
--
-- nginx runs LuaJIT whatever Lua busted runs under, so the ngx half runs once,
-- in the LuaJIT pass of scripts/test.sh (or whenever EXA_TEST_LUA_TAG is unset);
-- the curl half runs under every Lua.
local nginx = require "helpers.nginx"
local mock = require "helpers.mock"
local peer_proc = require "helpers.peer_proc"
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

local start_peer, stop_peer = peer_proc.start, peer_proc.stop
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

-- The in-process (curl) context: the same names as ngx_runner's.
local function curl_context(env)
  local exa = require "exa"
  local json = require "exa.wire.json"
  local clock = require "exa.loop.clock"
  local ctx = { backend_name = "curl", exa = exa, json = json, data = env.ctx, peer = env.peer, clients = {} }
  function ctx.client(o)
    o = o or {}
    o.transport = o.transport or "curl"
    local c = exa.new(o)
    ctx.clients[#ctx.clients + 1] = c
    return c
  end
  function ctx.stats(name) return assert(env.servers[name or "main"], "no mock " .. tostring(name)):stats() end
  ctx.sleep, ctx.now = clock.sleep, clock.now
  --- A raw request on the backend's handle interface (headers / next_event / finish / close).
  function ctx.start(req)
    ctx.multi = ctx.multi or require("exa.core").multi()
    return ctx.multi:request(req)
  end
  function ctx.fetch(url, extra)
    local core = require "exa.core"
    local m = core.multi()
    local req = { method = "GET", url = url }
    for k, v in pairs(extra or {}) do req[k] = v end
    local r, err = m:request(req):finish()
    m:close()
    if not r then error("fetch " .. url .. ": " .. tostring(err and err.message), 2) end
    return r
  end
  -- ctx.mock, ctx.stored: as inside nginx
  return require("helpers.scenario_ctx").add_common(ctx, env.mocks, "sk-curl")
end

local function runs_on(suite, backend)
  if not suite.backends then return true end
  for _, b in ipairs(suite.backends) do if b == backend then return true end end
  return false
end

function M.define(file, b)
  local describe, it, setup, teardown, pending = b.describe, b.it, b.setup, b.teardown, b.pending
  local suite = dofile(nginx.root .. "/spec/scenarios/" .. file .. ".lua")

  -- simulators, peer and `before` for one backend; returns env and a stop function
  local function start_env()
    local env = { mocks = {}, servers = {}, ctx = {} }
    for name, args in pairs(suite.mocks or {}) do
      env.servers[name] = mock.start(args)
      env.mocks[name] = env.servers[name].url
    end
    if suite.peer then
      env.peer_proc = start_peer()
      env.peer = env.peer_proc.url
    end
    if suite.before then suite.before(env) end
    return env
  end
  local function stop_env(env)
    if not env then return end
    if suite.after then suite.after(env) end
    stop_peer(env.peer_proc)
    for _, m in pairs(env.servers) do m:stop() end
  end

  local function each_test(backend, body)
    for _, t in ipairs(suite.tests) do
      local only = t[3] and t[3].only
      if not only or only == backend then body(t[1], t[2]) end
    end
  end

  if runs_on(suite, "curl") then
    describe("through the curl backend (spec/scenarios/" .. file .. ".lua)", function()
      local env
      setup(function() env = start_env() end)
      teardown(function() stop_env(env) end)
      each_test("curl", function(name, fn)
        it(name, function()
          local ctx = curl_context(env)
          local ok, err = xpcall(function() return fn(ctx) end, function(e)
            local msg = type(e) == "table" and (e.message or tostring(e)) or tostring(e)
            return tostring(msg) .. "\n" .. debug.traceback("", 2)
          end)
          for _, c in ipairs(ctx.clients) do pcall(c.close, c) end
          if ctx.multi then ctx.multi:close() end
          assert.is_true(ok, tostring(err))
        end)
      end)
    end)
  end

  if runs_on(suite, "ngx") then
    describe("through the ngx backend (spec/scenarios/" .. file .. ".lua)", function()
      local run, why = M.runs_here()
      local env, srv

      setup(function()
        if not run then return end
        env = start_env()
        local extra = suite.nginx and suite.nginx(env) or {}
        srv = nginx.start{ http = extra.http, server = M.RUNNER .. (extra.server or ""), main = extra.main }
        env.nginx = srv
        env.ctx.mocks, env.ctx.peer, env.ctx.port2 = env.mocks, env.peer, srv.port2
      end)

      teardown(function()
        if srv then srv:stop() end
        stop_env(env)
      end)

      each_test("ngx", function(name)
        it(name, function()
          if not run then return pending(why) end
          local res = M.run(srv, file, name, env.ctx)
          assert.is_true(res.ok, tostring(res.error))
        end)
      end)
    end)
  end
end

return M
