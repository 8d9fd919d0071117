-- h1_spec.lua - the HTTP/1 response reader (src/h1.c, core.response) on its
-- own, and the curl backend reading the same bytes (issue 13): every case of
-- spec/fixtures/h1_cases.lua ends the same way whether the reader gets the
-- bytes whole, in pieces or one at a time, and the same way through libcurl
-- (which now hands h1.c the raw body: transfer decoding off).  spec/scenarios/h1.lua
-- replays the same cases through the ngx backend inside nginx.
local core = require "exa.core"

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local CASES = dofile(here .. "fixtures/h1_cases.lua")

local function matches_any(pattern, s)
  for alt in pattern:gmatch("[^|]+") do
    if s:find(alt) then return true end
  end
  return false
end

-- the outcome of one case: {err=} or {status=, body=}, plus events and partial
local function read(c, split)
  local r = core.response { sse = c.sse }
  local bytes, events, err = c.bytes, 0, nil
  local i = 1
  while i <= #bytes do
    local j = math.min(#bytes, i + split - 1)
    local ok, e = r:feed(bytes:sub(i, j))
    while r:next_event() do events = events + 1 end
    if not ok then err = e break end
    i = j + 1
  end
  if not err then
    local ok, e = r:eof()
    if not ok then err = e end
  end
  while r:next_event() do events = events + 1 end
  local o = { err = err, events = events, partial = r:partial() }
  if not err then
    local status, _, sse = r:headers()
    o.status = status
    if not sse then o.body = r:body() end
  end
  r:close()
  return o
end

local function check(c, o, with_message)
  local x, what = c.expect, c.name
  if x.kind then
    assert(o.err, what .. ": expected an error " .. x.kind .. ", got status " .. tostring(o.status))
    assert.equal(x.kind, o.err.kind, what .. ": " .. tostring(o.err.message))
    assert.is_string(o.err.message)
    if with_message and x.message then
      assert(matches_any(x.message, o.err.message), what .. ": " .. o.err.message)
    end
  else
    assert(not o.err, what .. ": " .. (o.err and o.err.message or ""))
    assert.equal(x.status, o.status, what)
    if x.body then assert.equal(x.body, o.body, what) end
    if x.partial ~= nil then assert.equal(x.partial, o.partial, what) end
  end
  if x.events then assert.equal(x.events, o.events, what) end
end

describe("core.response (src/h1.c)", function()
  it("reads every case the same way, whole, in 7-byte pieces and byte by byte", function()
    for _, c in ipairs(CASES) do
      check(c, read(c, #c.bytes + 1), true)
      check(c, read(c, 7), true)
      if #c.bytes < 20000 then check(c, read(c, 1), true) end
    end
  end)

  it("gives the head again on a second headers() call", function()
    local r = core.response()
    assert.is_nil(r:headers()) -- not complete yet
    assert(r:feed("HTTP/1.1 200 OK\r\nX-A: 1\r\nX-A: 2\r\nContent-Length: 2\r\n\r\n"))
    local s1, h1 = r:headers()
    local s2, h2 = r:headers()
    assert.equal(200, s1)
    assert.equal(s1, s2)
    assert.same(h1, h2)
    assert.equal("1, 2", h1["x-a"])
  end)

  it("says what it still wants, and when the connection may be reused", function()
    local function keep(bytes, opts)
      local r = core.response(opts)
      assert(r:feed(bytes))
      return r:done() and r:keepalive(), r
    end
    local k, r = keep("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab")
    assert.is_false(k)
    assert.equal(3, r:want())
    assert(r:feed("cde"))
    assert.equal(0, r:want())
    assert.is_true(r:keepalive())
    assert.is_true((keep("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")))
    assert.is_false((keep("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok+surplus"))) -- bytes past the end
    assert.is_false((keep("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")))
    assert.is_false((keep("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")))
    assert.is_true((keep("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok")))
    assert.is_true((keep("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")))
    assert.is_false((keep("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n")))
    assert.is_true((keep("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", { method = "HEAD" }))) -- no body
    assert.is_true((keep("HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\n")))
    local _, cl = keep("HTTP/1.1 200 OK\r\n\r\nuntil close")
    assert.is_false(cl:done())
    assert(cl:eof())
    assert.is_true(cl:done())
    assert.is_false(cl:keepalive())
    assert.equal("until close", cl:body())
  end)

  it("refuses a Content-Length over max_body from the head; every error has a kind, none raises", function()
    local r = core.response { max_body = 10 }
    local ok, err = r:feed("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n")
    assert.is_nil(ok)
    assert.equal("too_large", err.kind)
    assert.same(err, r:error())
    assert.equal(0, r:want())
    -- garbage of every kind: an error object or a response, never a raise
    math.randomseed(13)
    for _ = 1, 300 do
      local c = CASES[math.random(#CASES)]
      local b = c.bytes:sub(1, 400)
      local p = math.random(#b)
      b = b:sub(1, p - 1) .. string.char(math.random(0, 255)) .. b:sub(p + 1)
      local o = read({ bytes = b, sse = c.sse }, math.random(1, 50))
      if o.err then
        assert.is_string(o.err.kind)
        assert.is_string(o.err.message)
      end
    end
  end)
end)

describe("the curl backend reads the h1 cases as the reader does", function()
  local peer, dir

  setup(function()
    local f = assert(io.popen("echo $$; exec lua5.4 " .. here .. "helpers/http_peer.lua 900"))
    local pid = assert(tonumber(f:read("*l")))
    local port = assert(tonumber(f:read("*l")))
    peer = { pipe = f, pid = pid, base = "http://127.0.0.1:" .. port }
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    for _, c in ipairs(CASES) do
      local o = assert(io.open(dir .. "/" .. c.name .. ".http", "wb"))
      o:write(c.bytes)
      o:close()
    end
  end)

  teardown(function()
    if peer then
      os.execute("kill " .. peer.pid .. " 2>/dev/null")
      peer.pipe:close()
    end
    if dir then os.execute("rm -rf " .. dir) end
  end)

  local function fetch(c)
    local m = core.multi()
    local t = m:request { method = "GET", url = peer.base .. "/raw?file=" .. dir .. "/" .. c.name .. ".http", sse = c.sse,
      timeout = 10000 }
    local o = { events = 0 }
    local status, _, sse = t:headers()
    if not status then
      o.err = _
    elseif sse then
      while true do
        local ev, err, partial = t:next_event()
        if ev then
          o.events = o.events + 1
        else
          o.err, o.partial = err, partial
          break
        end
      end
      if not o.err then o.status = status end
    else
      local r, err = t:finish()
      if r then o.status, o.body = r.status, r.body else o.err = err end
    end
    t:close()
    m:close()
    return o
  end

  it("ends a server's endless 1xx heads, header lines and trailer lines in too_large (the head bound)", function()
    for _, what in ipairs { "interim", "headers", "trailers" } do
      local m = core.multi()
      local t = m:request { method = "GET", url = peer.base .. "/endless?what=" .. what, sse = true,
        idle_timeout = 3000 }
      local status, err = t:headers()
      local events = 0
      if status then
        while true do
          local ev, e = t:next_event()
          if not ev then err = e break end
          events = events + 1
        end
      end
      assert.is_table(err, what)
      assert.equal("too_large", err.kind, what .. ": " .. tostring(err.message))
      assert.is_true(events <= 1, what)
      t:close()
      m:close()
    end
  end)

  for _, c in ipairs(CASES) do
    it(c.name, function()
      local o = fetch(c)
      check(c, o, false)
      assert.is_table(o.err == nil and {} or o.err) -- an error object, with a kind (checked above)
    end)
  end
end)
