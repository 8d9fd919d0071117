-- h1_spec.lua - the HTTP/1 response reader (src/h1.c, core.response) on its
-- own, and the curl backend reading the same bytes (issue 13): every case of
-- spec/fixtures/h1_cases.lua ends the same way whether the reader gets the
-- bytes whole, in pieces or one at a time, and the same way through libcurl
-- (which now hands h1.c the raw body: transfer decoding off).  spec/scenarios/h1.lua
-- replays the same cases through the ngx backend inside nginx.
local core = require "exa.core"

local h1_check = require "helpers.h1_check"
local peer_proc = require "helpers.peer_proc"

local CASES, check = h1_check.cases, h1_check.check

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
    peer = peer_proc.start()
    dir = h1_check.write_cases()
  end)

  teardown(function()
    peer_proc.stop(peer)
    if dir then os.execute("rm -rf " .. dir) end
  end)

  local function fetch(c)
    local m = core.multi()
    local url = peer.base .. "/raw?file=" .. dir .. "/" .. c.name .. ".http"
    local o = h1_check.read_handle(m:request { method = "GET", url = url, sse = c.sse, timeout = 10000 })
    m:close()
    return o
  end

  it("ends a server's endless 1xx heads, header lines and trailer lines in too_large (the head bound)", function()
    local multis = {} -- one multi for each, as a fresh client would
    h1_check.endless(function(url)
      multis[#multis + 1] = core.multi()
      return multis[#multis]:request { method = "GET", url = url, sse = true, idle_timeout = 3000 }
    end, peer.base)
    for _, m in ipairs(multis) do m:close() end
  end)

  for _, c in ipairs(CASES) do
    it(c.name, function()
      local o = fetch(c)
      check(c, o, false)
      assert.is_table(o.err == nil and {} or o.err) -- an error object, with a kind (checked above)
    end)
  end
end)
