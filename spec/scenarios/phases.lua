-- Where nginx disables cosockets, the ngx backend says which phase and
-- points at ngx.timer.at; a timer started from init_worker can use it.
local assert = require "luassert"

local T = {}
local function test(name, fn) T[#T + 1] = { name, fn } end

local function self_url(path) return "http://127.0.0.1:" .. ngx.var.server_port .. path end

local function check(msg, phase, directive)
  assert.is_string(msg, "nothing recorded for " .. phase)
  assert.matches("^transport ngx_phase " .. phase .. " ", msg)
  assert.matches("disabled in the " .. phase .. " phase", msg, 1, true)
  assert.matches(directive, msg, 1, true)
  assert.matches("ngx.timer.at", msg, 1, true)
end

test("init, init_worker: start() raises an error object naming the phase", function()
  local d = ngx.shared.exa_phase
  check(d:get("init"), "init", "init_by_lua*")
  assert.matches("init_worker_by_lua", d:get("init"), 1, true)
  check(d:get("init_worker"), "init_worker", "init_worker_by_lua*")
  assert.equals("false", d:get("init_worker_usable"))
  assert.equals("true", d:get("init_worker_inside"))
end)

test("set, header_filter, body_filter, log: start() and sleep() raise it too", function(ctx)
  local d = ngx.shared.exa_phase
  local b = ctx.backend
  local r = assert(b.start{ method = "GET", url = self_url("/phase/set") }:finish())
  check(r.body, "set", "set_by_lua*")
  r = assert(b.start{ method = "GET", url = self_url("/phase/filters") }:finish())
  assert.equals("body", r.body)
  check(ngx.unescape_uri(r.headers["x-phase-error"]), "header_filter", "header_filter_by_lua*")
  check(d:get("body_filter"), "body_filter", "body_filter_by_lua*")
  for _ = 1, 100 do -- the log phase runs after the answer went out
    if d:get("log") then break end
    ngx.sleep(0.01)
  end
  check(d:get("log"), "log", "log_by_lua*")
  check(d:get("log_sleep"), "log", "log_by_lua*")
end)

test("content and timers may use it; a timer started in init_worker did", function(ctx)
  assert.is_true(require("exa.backend.ngx").usable())
  assert.is_true(require("exa.backend.ngx").inside_nginx())
  local d = ngx.shared.exa_phase
  for _ = 1, 100 do
    if d:get("timer") then break end
    ngx.sleep(0.01)
  end
  assert.equals("200 timer", d:get("timer"))
end)

-- Each phase hook records "kind code phase message" (or what it got).
local RECORD = [[
  local function exa_phase_try(key)
    local b = require("exa.backend.ngx").new()
    local ok, e = pcall(b.start, { method = "GET", url = "http://127.0.0.1:9/" })
    local msg = ok and "no error" or (type(e) == "table" and (e.kind .. " " .. e.code .. " " .. e.phase .. " "
      .. e.message) or tostring(e))
    if key then ngx.shared.exa_phase:set(key, msg) end
    return msg, b
  end
]]

return {
  nginx = function()
    return {
      http = "  lua_shared_dict exa_phase 1m;\n" .. table.concat({
        "  init_by_lua_block {", RECORD, "  exa_phase_try('init') }",
        "  init_worker_by_lua_block {", RECORD, [[
          exa_phase_try('init_worker')
          ngx.shared.exa_phase:set("init_worker_usable", tostring(require("exa.backend.ngx").usable()))
          ngx.shared.exa_phase:set("init_worker_inside", tostring(require("exa.backend.ngx").inside_nginx()))
          ngx.timer.at(0, function()
            local b = require("exa.backend.ngx").new()
            local h = b.start{ method = "GET", url = "http://127.0.0.1:${PORT}/phase/plain" }
            local r, err = h:finish()
            ngx.shared.exa_phase:set("timer", r and (r.status .. " " .. r.body) or err.message)
          end)
        }]],
      }, "\n"),
      server = table.concat({
        "    location = /phase/plain { return 200 'timer'; }",
        "    location = /phase/set {",
        "      set_by_lua_block $phase_error {", RECORD, "  return (exa_phase_try()) }",
        "      return 200 $phase_error;",
        "    }",
        "    location = /phase/filters {",
        "      content_by_lua_block { ngx.print('body') }",
        "      header_filter_by_lua_block {", RECORD,
        "        ngx.header['X-Phase-Error'] = ngx.escape_uri((exa_phase_try())) }",
        "      body_filter_by_lua_block {", RECORD,
        "        if not ngx.shared.exa_phase:get('body_filter') then exa_phase_try('body_filter') end }",
        "      log_by_lua_block {", RECORD, [[
               local _, b = exa_phase_try('log')
               local ok, e = pcall(b.sleep, 0.01)
               ngx.shared.exa_phase:set('log_sleep', ok and "no error" or (e.kind .. " " .. e.code .. " "
                 .. e.phase .. " " .. e.message))
             }]],
        "    }",
      }, "\n"),
    }
  end,
  tests = T,
  backends = { "ngx" }, -- the ngx backend itself, its pool, TLS and phases
}
