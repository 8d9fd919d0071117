-- The ngx backend (lua/exa/backend/ngx.lua) on its own, inside nginx, against
-- the raw peer spec/helpers/http_peer.lua and raw answers nginx itself
-- writes (/raw/*): the same behaviours spec/http_core_spec.lua asks of the
-- curl transport, where they apply to HTTP/1.1 on a cosocket.
local assert = require "luassert"

local T = {}
local function test(name, fn) T[#T + 1] = { name, fn } end

-- helpers
local function start(ctx, path, extra)
  local req = { method = "GET", url = ctx.peer .. path }
  for k, v in pairs(extra or {}) do req[k] = v end
  return ctx.backend.start(req)
end

local function get(ctx, path, extra)
  local h = start(ctx, path, extra)
  local r, err = h:finish()
  h:close()
  return r, err
end

local function json(ctx, s) return assert(ctx.json.decode(s)) end

local function self_url(ctx, path) return "http://127.0.0.1:" .. ngx.var.server_port .. path end

test("GETs a JSON body with its status and lower-cased headers", function(ctx)
  local h = start(ctx, "/json")
  local status, hs = h:headers()
  assert.equal(200, status)
  assert.equal("application/json", hs["content-type"])
  local r = assert(h:finish())
  assert.equal(200, r.status)
  assert.same({ ok = true, conn = tonumber(hs["x-conn"]) }, json(ctx, r.body))
  assert.equal("20", r.headers["content-length"])
  assert.equal(r, h:finish()) -- finish() again: the same result
  h:close()
  h:close() -- idempotent
  local _, err = h:finish()
  assert.equal("closed", err.kind)
end)

test("sends method, headers and body as given; 'Name:' drops a header, 'Name;' sends it empty", function(ctx)
  local r = assert(get(ctx, "/echo", { method = "POST", body = '{"query":"x"}',
    headers = { "Content-Type: application/json", "X-Api-Key: k", "Exa-Beta: b1,b2", "Accept:", "X-Empty;",
      "Host:" } }))
  local echo = json(ctx, r.body)
  assert.equal("POST", echo.method)
  assert.equal('{"query":"x"}', echo.body)
  assert.equal("application/json", echo.headers["content-type"])
  assert.equal("b1,b2", echo.headers["exa-beta"])
  assert.equal("13", echo.headers["content-length"])
  assert.is_nil(echo.headers["accept-encoding"]) -- the ngx backend decodes no content coding
  assert.is_nil(echo.headers.accept)
  assert.is_nil(echo.headers.host)
  assert.equal("", echo.headers["x-empty"])
  local e = json(ctx, assert(get(ctx, "/echo?x=1")).body)
  assert.equal("/echo?x=1", e.path)
  assert.equal("127.0.0.1:" .. ctx.peer:match(":(%d+)$"), e.headers.host)
  for _, method in ipairs { "DELETE", "PUT", "PATCH" } do
    assert.equal(method, json(ctx, assert(get(ctx, "/echo", { method = method })).body).method)
  end
  e = json(ctx, assert(get(ctx, "/echo", { method = "POST" })).body)
  assert.equal("0", e.headers["content-length"])
end)

test("shows only the final response after 103 Early Hints", function(ctx)
  local h = start(ctx, "/early-hints")
  local status, hs = h:headers()
  assert.equal(200, status)
  assert.equal("yes", hs["x-final"])
  assert.is_nil(hs["x-interim"])
  assert.is_nil(hs.link)
  assert.equal("final", h:finish().body)
end)

test("returns a non-2xx answer as a response, not as an error", function(ctx)
  local r = assert(get(ctx, "/status?code=503"))
  assert.equal(503, r.status)
  assert.equal("status_503", json(ctx, r.body).error.type)
end)

test("HEAD gives the head and an empty body, and the connection is reused", function(ctx)
  local r = assert(get(ctx, "/json", { method = "HEAD" }))
  assert.equal(200, r.status)
  assert.equal("20", r.headers["content-length"])
  assert.equal("", r.body)
  local j = assert(get(ctx, "/json"))
  assert.equal(r.headers["x-conn"], j.headers["x-conn"])
end)

test("unfolds folded headers, trims values, keeps empty ones, leaves trailers out", function(ctx)
  local r = assert(get(ctx, "/odd-headers"))
  assert.equal("body", r.body)
  assert.equal("first second", r.headers["x-folded"])
  assert.equal("padded value", r.headers["x-padded"])
  assert.equal("", r.headers["x-empty"])
  assert.is_nil(r.headers["x-trailer"])
end)

test("joins repeated header names with ', '", function(ctx)
  local h = start(ctx, "/multi-header")
  local _, hs = h:headers()
  assert.equal("a, b, c", hs["x-multi"])
  h:close()
end)

test("reassembles a chunked body; reads a close-delimited one and a body dripped byte by byte", function(ctx)
  assert.equal("alpha,beta,gamma", assert(get(ctx, "/chunked")).body)
  local r = assert(ctx.backend.start{ method = "GET", url = self_url(ctx, "/raw/close-delimited") }:finish())
  assert.equal(200, r.status)
  assert.equal(string.rep("0123456789", 1000), r.body)
  assert.same({ dripped = true, text = "one byte at a time" }, json(ctx, assert(get(ctx, "/drip?delay=1")).body))
end)

test("keeps one connection for 5 sequential requests (nginx's pool)", function(ctx)
  local conns = {}
  for i = 1, 5 do conns[i] = assert(get(ctx, "/json")).headers["x-conn"] end
  assert.same({ conns[1], conns[1], conns[1], conns[1], conns[1] }, conns)
end)

test("fresh_connect never takes a pooled connection, and is not pooled after", function(ctx)
  local pooled = assert(get(ctx, "/json")).headers["x-conn"]
  local fresh = assert(get(ctx, "/json", { fresh_connect = true })).headers["x-conn"]
  assert.are_not.equal(pooled, fresh)
  assert.equal(pooled, assert(get(ctx, "/json")).headers["x-conn"])
  local again = assert(get(ctx, "/json", { fresh_connect = true })).headers["x-conn"]
  assert.are_not.equal(fresh, again)
  assert.are_not.equal(pooled, again)
end)

test("a connection is pooled only after its body was read to the end", function(ctx)
  local first = assert(get(ctx, "/json")).headers["x-conn"]
  local h = start(ctx, "/chunked") -- takes the pooled connection
  local _, hs = h:headers()
  assert.equal(first, hs["x-conn"])
  h:close() -- body unread: closed, not pooled
  local next_conn = assert(get(ctx, "/json")).headers["x-conn"]
  assert.are_not.equal(first, next_conn)
end)

test("replaces a pooled connection the server closed while it idled", function(ctx)
  local url = self_url(ctx, "/raw/close-after-answer")
  local a = assert(ctx.backend.start{ method = "GET", url = url }:finish())
  local b = assert(ctx.backend.start{ method = "GET", url = url }:finish())
  assert.equal("1", a.body)
  assert.equal("2", b.body)
  assert.are_not.equal(a.headers["x-conn"], b.headers["x-conn"])
end)

test("a once request takes a pooled connection; found dead, it fails and is not sent again", function(ctx)
  local url = self_url(ctx, "/raw/close-after-answer")
  local a = assert(ctx.backend.start{ method = "GET", url = url }:finish())
  local n = assert(tonumber(a.body)) -- the server's count of the requests it answered there
  -- the server reads this request on the pooled connection, then closes it unanswered
  local r, err = ctx.backend.start{ method = "POST", url = url, body = "{}", once = true }:finish()
  assert.is_nil(r)
  assert.equal("transport", err.kind)
  assert.equal("once_not_resent", err.code)
  assert.matches("not sent again", err.message)
  -- counted by the server: the once request never reached it a second time
  local b = assert(ctx.backend.start{ method = "GET", url = url }:finish())
  assert.equal(tostring(n + 1), b.body)
  -- a once request that is answered leaves its connection in the pool as any other
  local c = assert(ctx.backend.start{ method = "POST", url = ctx.peer .. "/json", body = "{}", once = true }:finish())
  local d = assert(get(ctx, "/json"))
  assert.equal(c.headers["x-conn"], d.headers["x-conn"])
end)

test("hands out each event as it completes, before the body ends", function(ctx)
  local h = start(ctx, "/sse?n=2&delay=0&hold=1500", { sse = true, idle_timeout = 5000 })
  local status, hs = h:headers()
  assert.equal(200, status)
  assert.equal("text/event-stream", hs["content-type"])
  local t0 = ngx.now()
  local e1 = assert(h:next_event())
  assert.equal("tick", e1.event)
  assert.equal("1", e1.id)
  assert.equal('{"i":1}', e1.data)
  assert.equal(1500, e1.retry)
  assert.equal("2", assert(h:next_event()).id)
  ngx.update_time()
  assert.is_true(ngx.now() - t0 < 1.2, "events came only at the end of the body")
  local ev, err, partial = h:next_event()
  assert.is_nil(ev)
  assert.is_nil(err)
  assert.is_false(partial)
  assert.is_nil(h:next_event())
  h:close()
end)

test("frames a stream dripped one byte at a time (CR, LF, CRLF, comments)", function(ctx)
  local h = start(ctx, "/sse-drip", { sse = true })
  local got = {}
  while true do
    local ev, err = h:next_event()
    assert.is_nil(err)
    if not ev then break end
    got[#got + 1] = { event = ev.event, id = ev.id, data = ev.data }
  end
  assert.same({
    { event = "tick", id = "1", data = '{"i":1}' },
    { event = "message", id = "1", data = "line one\nline two" },
    { event = "message", id = "1", data = "last" },
  }, got)
end)

test("a non-event-stream answer to an sse request is read with finish()", function(ctx)
  local h = start(ctx, "/sse-401", { sse = true, headers = { "Accept: text/event-stream" } })
  assert.equal(401, (h:headers()))
  local ev, err = h:next_event()
  assert.is_nil(ev)
  assert.equal("sse", err.kind)
  assert.matches("not an event stream", err.message)
  local r = assert(h:finish())
  assert.equal(401, r.status)
  assert.equal("authentication_error", json(ctx, r.body).error.type)
  local js = start(ctx, "/sse-json", { sse = true })
  assert.equal(true, json(ctx, js:finish().body).not_a_stream)
end)

test("refuses finish() on an event stream and next_event() without sse", function(ctx)
  local h = start(ctx, "/sse?n=1&delay=0", { sse = true })
  local r, err = h:finish()
  assert.is_nil(r)
  assert.matches("event stream", err.message)
  assert.truthy(h:next_event())
  local j = start(ctx, "/sse?n=1&delay=0")
  local ev, jerr = j:next_event()
  assert.is_nil(ev)
  assert.equal("sse", jerr.kind)
  assert.matches("data: ", j:finish().body) -- without sse the stream is just a body
end)

test("keep-alive comments count as data for idle_timeout", function(ctx)
  local h = start(ctx, "/sse-keepalive?n=6&every=100", { sse = true, idle_timeout = 400 })
  local ev, err = h:next_event()
  assert.is_nil(err)
  assert.equal("1", ev.id)
  assert.is_nil(h:next_event())
end)

test("ends a silent stream after idle_timeout, after delivering what came", function(ctx)
  local h = start(ctx, "/sse-hang", { sse = true, idle_timeout = 300 })
  assert.equal("1", assert(h:next_event()).id)
  local ev, err = h:next_event()
  assert.is_nil(ev)
  assert.equal("timeout", err.kind)
  assert.matches("idle_timeout", err.message)
  local ev2, err2 = h:next_event()
  assert.is_nil(ev2)
  assert.equal(err, err2) -- it stays failed
end)

test("delivers the framed events, then an error, when the peer drops mid-stream", function(ctx)
  local h = start(ctx, "/sse-cut", { sse = true })
  assert.equal("1", assert(h:next_event()).id)
  assert.equal("2", assert(h:next_event()).id)
  local ev, err = h:next_event()
  assert.is_nil(ev)
  assert.equal("transport", err.kind)
  assert.equal("closed_early", err.code)
end)

test("a close-delimited event stream that ends inside an event reports partial", function(ctx)
  local url = self_url(ctx, "/raw/sse-partial")
  local h = ctx.backend.start{ method = "GET", url = url, sse = true }
  assert.equal("1", assert(h:next_event()).id)
  local ev, err, partial = h:next_event()
  assert.is_nil(ev)
  assert.is_nil(err)
  assert.is_true(partial)
  local whole = ctx.backend.start{ method = "GET", url = self_url(ctx, "/raw/sse-whole"), sse = true }
  assert.equal("1", assert(whole:next_event()).id)
  ev, err, partial = whole:next_event()
  assert.is_nil(ev)
  assert.is_nil(err)
  assert.is_false(partial)
end)

test("fails clearly when a line exceeds max_line or an event max_event", function(ctx)
  local ev, err = start(ctx, "/sse-big?n=3&size=5000", { sse = true, max_line = 1000 }):next_event()
  assert.is_nil(ev)
  assert.equal("sse", err.kind)
  assert.matches("max_line", err.message)
  ev, err = start(ctx, "/sse-big?n=3&size=5000", { sse = true, max_event = 1000 }):next_event()
  assert.is_nil(ev)
  assert.equal("sse", err.kind)
  assert.matches("max_event", err.message)
  assert.equal(5000, #assert(start(ctx, "/sse-big?n=1&size=5000", { sse = true }):next_event()).data)
end)

test("reads a large stream in order", function(ctx)
  local h = start(ctx, "/sse-big?n=3000&size=1000", { sse = true })
  local i = 0
  while true do
    local ev, err = h:next_event()
    assert.is_nil(err)
    if not ev then break end
    i = i + 1
    assert.equal(tostring(i), ev.id)
    assert.equal(1000, #ev.data)
  end
  assert.equal(3000, i)
end)

test("reports the whole-request timeout across reads", function(ctx)
  local r, err = get(ctx, "/hang", { timeout = 300 })
  assert.is_nil(r)
  assert.equal("timeout", err.kind)
  -- a body dripping in slower than the deadline: every read is short, the sum is not
  r, err = get(ctx, "/drip?delay=50", { timeout = 400 })
  assert.is_nil(r)
  assert.equal("timeout", err.kind)
  assert.matches("400 ms", err.message)
end)

test("reports a refused connection, an unknown host and a bad URL", function(ctx)
  local r, err = ctx.backend.start{ method = "GET", url = "http://127.0.0.1:1/" }:finish()
  assert.is_nil(r)
  assert.equal("connect", err.kind)
  assert.matches("127.0.0.1:1", err.message)
  r, err = ctx.backend.start{ method = "GET", url = "http://no-such-host.invalid/" }:finish()
  assert.equal("dns", err.kind)
  assert.matches("no%-such%-host", err.message)
  assert.matches("resolver", err.message)
  r, err = ctx.backend.start{ method = "GET", url = "file:///etc/passwd" }:finish()
  assert.equal("transport", err.kind)
  local h = ctx.backend.start{ method = "GET", url = "ftp://x/" }
  assert.equal("transport", select(2, h:headers()).kind)
end)

test("aborts a body bigger than max_body", function(ctx)
  local r, err = get(ctx, "/big?size=200000", { max_body = 1000 })
  assert.is_nil(r)
  assert.equal("too_large", err.kind)
  assert.equal(200000, #assert(get(ctx, "/big?size=200000")).body)
  r, err = get(ctx, "/chunked", { max_body = 10 }) -- no Content-Length: counted as it comes
  assert.is_nil(r)
  assert.equal("too_large", err.kind)
  -- a Content-Length over max_body is refused from the head, before reading the body
  r, err = ctx.backend.start{ method = "GET", url = self_url(ctx, "/raw/huge-length"), max_body = 1000,
    timeout = 2000 }:finish()
  assert.is_nil(r)
  assert.equal("too_large", err.kind)
end)

test("aborts a response whose headers exceed 256 KiB", function(ctx)
  local r, err = get(ctx, "/huge-headers?n=300")
  assert.is_nil(r)
  assert.equal("too_large", err.kind)
  assert.matches("headers exceed", err.message)
  assert.equal(200, assert(get(ctx, "/huge-headers?n=100")).status)
end)

test("reports a connection closed before any answer", function(ctx)
  local r, err = get(ctx, "/empty-reply")
  assert.is_nil(r)
  assert.equal("transport", err.kind)
  assert.equal("empty_reply", err.code)
end)

test("raises on programmer errors", function(ctx)
  local b = ctx.backend
  local base = ctx.peer
  assert.has_error(function() b.start{ url = base } end)
  assert.has_error(function() b.start{ method = "GET" } end)
  assert.has_error(function() b.start{ method = "G E T", url = base } end)
  assert.has_error(function() b.start{ method = "GET", url = base, headers = { "X: a\r\nY: b" } } end)
  assert.has_error(function() b.start{ method = "GET", url = base, headers = "X: a" } end)
  assert.has_error(function() b.start{ method = "GET", url = base, sse = 1 } end)
  assert.has_error(function() b.start{ method = "GET", url = base, once = 1 } end)
  assert.has_error(function() b.start{ method = "GET", url = base, timeout = "1" } end)
  assert.has_error(function() b.start{ method = "GET", url = base, body = {} } end)
end)

test("start, sleep and now work called with a dot or a colon", function(ctx)
  local b = ctx.backend
  local r = assert(b:start{ method = "GET", url = ctx.peer .. "/json" }:finish())
  assert.equal(200, r.status)
  local t0 = b.now()
  b:sleep(0.05)
  b.sleep(0.05)
  assert.is_true(b:now() >= t0 + 0.09)
end)

test("lets two light threads read two streams at once", function(ctx)
  local order = {}
  local function reader(name)
    local h = start(ctx, "/sse?n=4&delay=30", { sse = true })
    while true do
      local ev, err = h:next_event()
      assert(not err, err and err.message)
      if not ev then break end
      order[#order + 1] = name .. ev.id
    end
  end
  local a = ngx.thread.spawn(reader, "a")
  local b = ngx.thread.spawn(reader, "b")
  assert.is_true(ngx.thread.wait(a))
  assert.is_true(ngx.thread.wait(b))
  assert.equal(8, #order)
  -- neither waited for the other: the second stream's first event came before the first's last
  local pos = {}
  for i, v in ipairs(order) do pos[v] = i end
  assert.is_true(pos.b1 < pos.a4 and pos.a1 < pos.b4, table.concat(order, " "))
end)

test("https: verifies the peer against lua_ssl_trusted_certificate and the host name", function(ctx)
  local tls = ctx.data.tls
  local r = assert(ctx.backend.start{ method = "GET", url = "https://localhost:" .. tls.a .. "/" }:finish())
  assert.equal(200, r.status) -- openssl s_server -www: HTTP/1.0, a close-delimited body
  assert.matches("s_server", r.body)
  -- Debian's lua-resty-core answers a failed handshake that completed at once
  -- as a success (about one in five here): the backend must still refuse every
  -- one; the reason is then unknown unless a second try learns it
  local function refused(url, reason)
    for _ = 1, 20 do
      local _, err = ctx.backend.start{ method = "GET", url = url }:finish()
      assert.equal("tls", err.kind, err.message)
      assert.matches("lua_ssl_trusted_certificate", err.message)
      assert.is_truthy(err.message:find(reason) or err.message:find("did not verify", 1, true), err.message)
    end
  end
  refused("https://127.0.0.1:" .. tls.a .. "/", "host mismatch")
  refused("https://localhost:" .. tls.b .. "/", "self%-signed")
end)

test("https: sends SNI and keeps TLS connections in their own pool", function(ctx)
  local base = "https://localhost:" .. ctx.data.port2
  local r = assert(ctx.backend.start{ method = "GET", url = base .. "/sni" }:finish())
  assert.equal("localhost", r.body)
  local c1 = assert(ctx.backend.start{ method = "GET", url = base .. "/conn" }:finish()).body
  local c2 = assert(ctx.backend.start{ method = "GET", url = base .. "/conn" }:finish()).body
  assert.equal(c1, c2)
  assert.matches("^%d+$", c1)
end)

-- Raw answers written by nginx itself on the request's socket.
local RAW = [[
    location = /raw/close-delimited {
      content_by_lua_block {
        local sock = ngx.req.socket(true)
        sock:send("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
          .. string.rep("0123456789", 1000))
      }
    }
    location = /raw/close-after-answer {
      content_by_lua_block {
        -- answers with keep-alive promised, then reads the next request on
        -- that connection and closes it unanswered (a server's idle close
        -- racing the client's next request)
        local n = ngx.shared.exa_test:incr("close_after", 1, 0)
        local sock = ngx.req.socket(true)
        sock:send("HTTP/1.1 200 OK\r\nContent-Length: " .. #tostring(n) .. "\r\nX-Conn: "
          .. ngx.var.connection .. "\r\n\r\n" .. n)
        sock:settimeout(2000)
        sock:receive("*l")
      }
    }
    location = /raw/huge-length {
      content_by_lua_block {
        -- promises 100 MB, sends 10 bytes, then nothing for a while
        local sock = ngx.req.socket(true)
        sock:send("HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n0123456789")
        ngx.sleep(3)
      }
    }
    location = /raw/sse-partial {
      content_by_lua_block {
        local sock = ngx.req.socket(true)
        sock:send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
          .. "id: 1\ndata: one\n\nid: 2\ndata: cut sho")
      }
    }
    location = /raw/sse-whole {
      content_by_lua_block {
        local sock = ngx.req.socket(true)
        sock:send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
          .. "id: 1\ndata: one\n\n: bye\n\n")
      }
    }
]]

return {
  peer = true,
  before = function(env) -- busted side: two TLS peers, the first one trusted
    local tls_peer = require "helpers.tls_peer"
    env.tls_a, env.tls_b = assert(tls_peer.start()), assert(tls_peer.start())
    env.ctx.tls = { a = env.tls_a.port, b = env.tls_b.port }
  end,
  after = function(env)
    if env.tls_a then env.tls_a:stop() end
    if env.tls_b then env.tls_b:stop() end
  end,
  nginx = function(env)
    local a = env.tls_a
    return {
      http = table.concat({
        "  lua_shared_dict exa_test 1m;",
        "  lua_ssl_trusted_certificate " .. a.cert .. ";",
        "  lua_ssl_verify_depth 2;",
        "  server {",
        "    listen 127.0.0.1:${PORT2} ssl;",
        "    ssl_certificate " .. a.cert .. ";",
        "    ssl_certificate_key " .. a.dir .. "/key.pem;",
        "    location = /sni { return 200 $ssl_server_name; }",
        "    location = /conn { return 200 $connection; }",
        "  }",
      }, "\n"),
      server = RAW,
    }
  end,
  tests = T,
  backends = { "ngx" }, -- the ngx backend itself, its pool, TLS and phases
}
