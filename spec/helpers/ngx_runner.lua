-- Runs a scenario test inside nginx (the ngx half of helpers/scenarios.lua).
--
--   location = /scenario { content_by_lua_block { require("helpers.ngx_runner").handle() } }
--
-- POST body (JSON): {file = "client_runs", test = "<name>", ctx = {...}}. It
-- loads spec/scenarios/<file>.lua, runs the test function of that name with a
-- context, and answers JSON {ok = true, result = ...} or {ok = false,
-- error = "<message and traceback>"}. Assertions are luassert's.
--
-- ctx.client(opts) makes an exa client whose requests go through the ngx
-- backend (lua/exa/backend/ngx.lua), through helpers/ngx_client.lua: the one
-- place that says how (exa.new{transport = "ngx"} once exa.new takes that
-- option, the backend in place of core.multi until then). ctx.how says which.
local M = {}

local function here()
  local src = debug.getinfo(1, "S").source
  local path = src:sub(1, 1) == "@" and src:sub(2) or src
  return path:match("^(.*)/spec/helpers/[^/]+$") or "."
end
M.root = here()

local function context(data)
  local ngx = ngx
  local exa = require "exa"
  local json = require "exa.wire.json"
  local ngx_http = require "exa.backend.ngx"
  local backend = ngx_http.new()
  local ctx = { backend_name = "ngx", exa = exa, json = json, backend = backend, data = data,
    mocks = data.mocks or {}, peer = data.peer, clients = {} }
  local clients = require "helpers.ngx_client"
  ctx.how = clients.how("ngx")

  function ctx.client(o)
    local c = clients.new(o, "ngx")
    ctx.clients[#ctx.clients + 1] = c
    return c
  end

  --- A raw request on the backend's handle interface.
  function ctx.start(req) return backend.start(req) end

  --- A raw request through the backend: {status, headers, body} or raises.
  function ctx.fetch(url, extra)
    local req = { method = "GET", url = url }
    for k, v in pairs(extra or {}) do req[k] = v end
    local h = backend.start(req)
    local r, err = h:finish()
    h:close()
    if not r then error("fetch " .. url .. ": " .. tostring(err and err.message), 2) end
    return r
  end

  --- Decoded GET /_mock/stats of a simulator.
  function ctx.stats(name)
    return assert(json.decode(ctx.fetch(ctx.mock(name) .. "/_mock/stats").body))
  end

  function ctx.sleep(s) ngx.sleep(s) end
  function ctx.now()
    ngx.update_time()
    return ngx.now()
  end

  -- ctx.mock, ctx.stored: as on the curl side
  return require("helpers.scenario_ctx").add_common(ctx, ctx.mocks, "sk-ngx")
end

local function respond(ngx, t)
  local json = require "exa.wire.json"
  ngx.header["Content-Type"] = "application/json"
  ngx.print(json.encode(t))
end

local function plain(v, depth)
  depth = depth or 0
  if type(v) ~= "table" or depth > 6 then
    if type(v) == "number" or type(v) == "boolean" or type(v) == "string" or v == nil then return v end
    return tostring(v)
  end
  local out = {}
  for k, x in pairs(v) do out[tostring(k)] = plain(x, depth + 1) end
  return out
end

function M.handle()
  local ngx = ngx
  local json = require "exa.wire.json"
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if not body then
    local f = ngx.req.get_body_file()
    local fh = f and io.open(f, "rb")
    body = fh and fh:read("*a")
    if fh then fh:close() end
  end
  local req = json.decode(body or "")
  if type(req) ~= "table" then return respond(ngx, { ok = false, error = "bad runner request" }) end
  local chunk, lerr = loadfile(M.root .. "/spec/scenarios/" .. req.file .. ".lua")
  if not chunk then return respond(ngx, { ok = false, error = lerr }) end
  local suite = chunk()
  local fn
  for _, t in ipairs(suite.tests) do
    if t[1] == req.test then fn = t[2] end
  end
  if not fn then return respond(ngx, { ok = false, error = "no test named " .. tostring(req.test) }) end
  local ctx = context(req.ctx or {})
  local ok, res = xpcall(function() return fn(ctx) end, function(e)
    local msg = type(e) == "table" and (e.message or tostring(e)) or tostring(e)
    if type(msg) == "table" then msg = tostring(msg) end
    return tostring(msg) .. "\n" .. debug.traceback("", 2)
  end)
  for _, c in ipairs(ctx.clients) do pcall(c.close, c) end
  if ok then
    respond(ngx, { ok = true, how = ctx.how, result = plain(res) })
  else
    respond(ngx, { ok = false, how = ctx.how, error = res })
  end
end

return M
