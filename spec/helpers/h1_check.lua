-- h1_check.lua - what spec/h1_spec.lua (core.response and the curl backend)
-- and spec/scenarios/h1.lua (the ngx backend) share about the cases of
-- spec/fixtures/h1_cases.lua: the cases, writing them where helpers/http_peer.lua
-- serves them (/raw?file=), reading one through a backend handle, and the check
-- of an outcome against the case's expectations.
local assert = require "luassert"

local M = {}

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
M.cases = dofile(here .. "../fixtures/h1_cases.lua")

--- Writes every case to <dir>/<name>.http in a fresh temporary directory; returns dir.
function M.write_cases()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  for _, c in ipairs(M.cases) do
    local f = assert(io.open(dir .. "/" .. c.name .. ".http", "wb"))
    f:write(c.bytes)
    f:close()
  end
  return dir
end

--- The outcome of a backend handle (headers / next_event / finish / close),
--- read to its end and closed: {err=} or {status=, body=}, plus events and partial.
--- A second headers() call must give the same head.
function M.read_handle(h)
  local o = { events = 0 }
  local status, hs, sse = h:headers()
  if not status then
    o.err = hs
  else
    local s2, h2 = h:headers()
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

local function matches_any(pattern, s)
  for alt in pattern:gmatch("[^|]+") do
    if s:find(alt) then return true end
  end
  return false
end

--- Asserts outcome o is what case c expects; the reader's message pattern
--- only when with_message (through libcurl a check of curl's own may speak first).
function M.check(c, o, with_message)
  local x, what = c.expect, c.name
  if x.kind then
    assert(type(o.err) == "table", what .. ": expected an error " .. x.kind .. ", got status " .. tostring(o.status))
    assert.equal(x.kind, o.err.kind, what .. ": " .. tostring(o.err.message))
    assert.is_string(o.err.message)
    if with_message and x.message then
      assert(matches_any(x.message, o.err.message), what .. ": " .. o.err.message)
    end
  else
    assert(not o.err, what .. ": " .. (o.err and tostring(o.err.message) or ""))
    assert.equal(x.status, o.status, what)
    if x.body then assert.equal(x.body, o.body, what) end
    if x.partial ~= nil then assert.equal(x.partial, o.partial, what) end
  end
  if x.events then assert.equal(x.events, o.events, what) end
end

--- A server's endless 1xx heads, header lines and trailer lines end in
--- too_large: start(url) opens a handle on the backend, base is the peer's URL.
function M.endless(start, base)
  for _, what in ipairs { "interim", "headers", "trailers" } do
    local h = start(base .. "/endless?what=" .. what)
    local status, err = h:headers()
    local events = 0
    if status then
      while true do
        local ev, e = h:next_event()
        if not ev then err = e break end
        events = events + 1
      end
    end
    assert.is_table(err, what)
    assert.equal("too_large", err.kind, what .. ": " .. tostring(err.message))
    assert.is_true(events <= 1, what)
    h:close()
  end
end

return M
