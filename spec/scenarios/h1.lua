-- The ngx backend reading spec/fixtures/h1_cases.lua (issue 13): the same
-- hostile responses spec/h1_spec.lua gives core.response and the curl backend,
-- served verbatim by helpers/http_peer.lua (/raw?file=), must end the same way
-- here: same outcome, kind, status, body and event count; every error an
-- error object with a kind.  Whole and dripped 7 bytes per write.
local assert = require "luassert"

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local CASES = dofile(here .. "../fixtures/h1_cases.lua")

local T = {}
local function test(name, fn) T[#T + 1] = { name, fn } end

local function fetch(ctx, c, drip)
  local url = ctx.peer .. "/raw?file=" .. ctx.data.h1dir .. "/" .. c.name .. ".http" .. (drip and "&drip=" .. drip or "")
  local h = ctx.backend.start { method = "GET", url = url, sse = c.sse, timeout = 10000 }
  local o = { events = 0 }
  local status, hs, sse = h:headers()
  if not status then
    o.err = hs
  else
    local s2, h2 = h:headers() -- a second call gives the same head
    assert.equal(status, s2)
    assert.same(hs, h2)
    if sse then
      while true do
        local ev, err, partial = h:next_event()
        if ev then
          o.events = o.events + 1
        else
          o.err, o.partial = err, partial
          break
        end
      end
      if not o.err then o.status = status end
    else
      local r, err = h:finish()
      if r then o.status, o.body = r.status, r.body else o.err = err end
    end
  end
  h:close()
  return o
end

local function check(c, o)
  local x, what = c.expect, c.name
  if x.kind then
    assert(type(o.err) == "table", what .. ": expected an error " .. x.kind .. ", got status " .. tostring(o.status))
    assert.equal(x.kind, o.err.kind, what .. ": " .. tostring(o.err.message))
    assert.is_string(o.err.message)
    if x.message then
      local hit = false
      for alt in x.message:gmatch("[^|]+") do hit = hit or o.err.message:find(alt) ~= nil end
      assert(hit, what .. ": " .. o.err.message)
    end
  else
    assert(not o.err, what .. ": " .. (o.err and tostring(o.err.message) or ""))
    assert.equal(x.status, o.status, what)
    if x.body then assert.equal(x.body, o.body, what) end
    if x.partial ~= nil then assert.equal(x.partial, o.partial, what) end
  end
  if x.events then assert.equal(x.events, o.events, what) end
end

test("reads every h1 case as the reader and the curl backend do", function(ctx)
  for _, c in ipairs(CASES) do check(c, fetch(ctx, c)) end
end)

test("reads every h1 case the same way dripped 7 bytes per write", function(ctx)
  for _, c in ipairs(CASES) do
    if #c.bytes < 20000 then check(c, fetch(ctx, c, 7)) end
  end
end)

test("ends a server's endless 1xx heads, header lines and trailer lines in too_large (the head bound)", function(ctx)
  for _, what in ipairs { "interim", "headers", "trailers" } do
    local h = ctx.backend.start { method = "GET", url = ctx.peer .. "/endless?what=" .. what, sse = true,
      idle_timeout = 3000 }
    local status, err = h:headers()
    local events = 0
    if status then
      while true do
        local ev, e = h:next_event()
        if not ev then err = e break end
        events = events + 1
      end
    end
    assert(type(err) == "table", what)
    assert.equal("too_large", err.kind, what .. ": " .. tostring(err.message))
    assert.is_true(events <= 1, what)
    h:close()
  end
end)

return {
  peer = true,
  before = function(env) -- busted side: the case files, where the peer can read them
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    for _, c in ipairs(CASES) do
      local f = assert(io.open(dir .. "/" .. c.name .. ".http", "wb"))
      f:write(c.bytes)
      f:close()
    end
    env.h1dir = dir
    env.ctx.h1dir = dir
  end,
  after = function(env)
    if env.h1dir then os.execute("rm -rf " .. env.h1dir) end
  end,
  tests = T,
  backends = { "ngx" }, -- spec/h1_spec.lua reads the same cases through core.response and curl
}
