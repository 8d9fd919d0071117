-- The ngx backend reading spec/fixtures/h1_cases.lua (issue 13): the same
-- hostile responses spec/h1_spec.lua gives core.response and the curl backend,
-- served verbatim by helpers/http_peer.lua (/raw?file=), must end the same way
-- here: same outcome, kind, status, body and event count; every error an
-- error object with a kind.  Whole and dripped 7 bytes per write.
local h1_check = require "helpers.h1_check"

local CASES = h1_check.cases

local T = {}
local function test(name, fn) T[#T + 1] = { name, fn } end

local function fetch(ctx, c, drip)
  local url = ctx.peer .. "/raw?file=" .. ctx.data.h1dir .. "/" .. c.name .. ".http" .. (drip and "&drip=" .. drip or "")
  return h1_check.read_handle(ctx.backend.start { method = "GET", url = url, sse = c.sse, timeout = 10000 })
end

local function check(c, o) h1_check.check(c, o, true) end

test("reads every h1 case as the reader and the curl backend do", function(ctx)
  for _, c in ipairs(CASES) do check(c, fetch(ctx, c)) end
end)

test("reads every h1 case the same way dripped 7 bytes per write", function(ctx)
  for _, c in ipairs(CASES) do
    if #c.bytes < 20000 then check(c, fetch(ctx, c, 7)) end
  end
end)

test("ends a server's endless 1xx heads, header lines and trailer lines in too_large (the head bound)", function(ctx)
  h1_check.endless(function(url)
    return ctx.backend.start { method = "GET", url = url, sse = true, idle_timeout = 3000 }
  end, ctx.peer)
end)

return {
  peer = true,
  before = function(env) -- busted side: the case files, where the peer can read them
    local dir = h1_check.write_cases()
    env.h1dir = dir
    env.ctx.h1dir = dir
  end,
  after = function(env)
    if env.h1dir then os.execute("rm -rf " .. env.h1dir) end
  end,
  tests = T,
  backends = { "ngx" }, -- spec/h1_spec.lua reads the same cases through core.response and curl
}
