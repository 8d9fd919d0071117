-- http_core_spec.lua - exa.core transfers against a real local HTTP peer
-- (spec/helpers/http_peer.lua, a raw-socket server run under lua5.4).
local core = require "exa.core"
local cjson = require "cjson"
local cqueues = require "cqueues"

local now = cqueues.monotime

local peer_proc = require "helpers.peer_proc"

local function lua_cmd()
  local tag = os.getenv("EXA_TEST_LUA_TAG") or "5.4"
  return tag == "jit" and "luajit" or ("lua" .. tag)
end

local start_peer, stop_peer = peer_proc.start, peer_proc.stop

describe("exa.core http", function()
  local peer, base

  setup(function()
    peer = start_peer()
    base = peer.base
  end)

  teardown(function() stop_peer(peer) end)

  local function get(m, path, extra)
    local spec = { method = "GET", url = base .. path }
    for k, v in pairs(extra or {}) do spec[k] = v end
    return m:request(spec)
  end

  -- every event of an event stream, to its clean end (no error on the way)
  local function events_of(t)
    local got = {}
    while true do
      local ev, err = t:next_event()
      assert.is_nil(err)
      if not ev then break end
      got[#got + 1] = ev
    end
    return got
  end

  describe("buffered requests", function()
    it("GETs a JSON body with status, lowercased headers and info", function()
      local m = core.multi()
      local t = get(m, "/json")
      local status, h, framed = t:headers()
      assert.equal(200, status)
      assert.equal("application/json", h["content-type"])
      assert.is_false(framed) -- not asked for sse: a body
      local r = assert(t:finish())
      assert.equal(200, r.status)
      assert.same({ ok = true, conn = tonumber(h["x-conn"]) }, cjson.decode(r.body))
      assert.equal("20", r.headers["content-length"])
      local info = t:info()
      assert.equal(200, info.status)
      assert.equal("1.1", info.http_version)
      assert.equal(1, info.num_connects)
      assert.equal(#r.body, info.size_download)
      assert.equal(base .. "/json", info.effective_url)
      assert.is_number(info.total_time)
      t:close()
      m:close()
    end)

    it("sends method, headers and body as given", function()
      local m = core.multi()
      local t = m:request { method = "POST", url = base .. "/echo", body = '{"query":"x"}',
        headers = { "Content-Type: application/json", "X-Api-Key: k", "Exa-Beta: b1,b2", "Accept:",
          "X-Empty;" } }
      local echo = cjson.decode(assert(t:finish()).body)
      assert.equal("POST", echo.method)
      assert.equal('{"query":"x"}', echo.body)
      assert.equal("application/json", echo.headers["content-type"])
      assert.equal("b1,b2", echo.headers["exa-beta"])
      assert.is_nil(echo.headers["accept-encoding"]) -- no content coding asked for (h1.c decodes none)
      assert.is_nil(echo.headers.expect)
      assert.is_nil(echo.headers.accept) -- "Name:" drops curl's default header
      assert.equal("", echo.headers["x-empty"]) -- "Name;" sends it empty
      for _, method in ipairs { "DELETE", "PUT", "PATCH" } do
        local r = assert(m:request { method = method, url = base .. "/echo" }:finish())
        local e = cjson.decode(r.body)
        assert.equal(method, e.method)
        assert.equal("", e.body)
      end
      local e = cjson.decode(assert(m:request { method = "POST", url = base .. "/echo" }:finish()).body)
      assert.equal("POST", e.method)
      assert.equal("0", e.headers["content-length"])
      m:close()
    end)

    -- curl's upload buffer (16 KiB) would otherwise live as long as the
    -- transfer: 1,000 open streams paid ~4 KiB of RSS each (bench/users.sh)
    it("frees a body's upload buffer once curl has sent the body, and keeps the answer whole", function()
      local m = core.multi()
      assert.equal(0, m:stats().upload_buffers_freed)
      local t = m:request { method = "POST", url = base .. "/sse?n=3&delay=50", body = '{"query":"x"}', sse = true }
      assert.equal(200, (t:headers()))
      assert.equal(1, m:stats().upload_buffers_freed)
      local n = 0
      while t:next_event() do n = n + 1 end
      assert.equal(3, n)
      local r = assert(m:request { method = "POST", url = base .. "/echo", body = "abc" }:finish())
      assert.equal("abc", cjson.decode(r.body).body)
      assert.equal(2, m:stats().upload_buffers_freed)
      assert.equal(0, m:request { method = "GET", url = base .. "/echo" }:finish() and m:stats().upload_buffers_freed - 2)
      m:close()
    end)

    it("shows only the final response after 100 Continue and 103 Early Hints", function()
      local m = core.multi()
      local body = string.rep("b", 5000)
      local t = m:request { method = "POST", url = base .. "/echo", body = body,
        headers = { "Expect: 100-continue", "Content-Type: text/plain" } }
      local status, h = t:headers()
      assert.equal(200, status)
      assert.equal("application/json", h["content-type"])
      assert.equal(body, cjson.decode(t:finish().body).body)

      t = get(m, "/early-hints")
      status, h = t:headers()
      assert.equal(200, status)
      assert.equal("yes", h["x-final"])
      assert.is_nil(h["x-interim"])
      assert.is_nil(h.link)
      assert.equal("final", t:finish().body)
      m:close()
    end)

    it("returns a non-2xx answer as a response, not as an error", function()
      local m = core.multi()
      local r = assert(get(m, "/status?code=503"):finish())
      assert.equal(503, r.status)
      assert.equal("status_503", cjson.decode(r.body).error.type)
      m:close()
    end)

    it("HEAD gives status and headers and an empty body, and the connection stays usable", function()
      local m = core.multi()
      local t = m:request { method = "HEAD", url = base .. "/json" }
      local r = assert(t:finish())
      assert.equal(200, r.status)
      assert.equal("20", r.headers["content-length"])
      assert.equal("", r.body)
      local j = assert(get(m, "/json"):finish())
      assert.equal(r.headers["x-conn"], j.headers["x-conn"])
      assert.same({ ok = true, conn = tonumber(j.headers["x-conn"]) }, cjson.decode(j.body))
      m:close()
    end)

    it("unfolds folded headers, trims values, keeps empty ones, leaves trailers out", function()
      local m = core.multi()
      local r = assert(get(m, "/odd-headers"):finish())
      assert.equal("body", r.body)
      assert.equal("first second", r.headers["x-folded"])
      assert.equal("padded value", r.headers["x-padded"])
      assert.equal("", r.headers["x-empty"])
      assert.is_nil(r.headers["x-trailer"])
      m:close()
    end)

    it("joins repeated header names with ', '", function()
      local m = core.multi()
      local _, h = get(m, "/multi-header"):headers()
      assert.equal("a, b, c", h["x-multi"])
      m:close()
    end)

    it("reassembles chunked bodies; refuses a gzip body it never asked for", function()
      local m = core.multi()
      assert.equal("alpha,beta,gamma", get(m, "/chunked"):finish().body)
      local r, err = get(m, "/gzip"):finish()
      assert.is_nil(r)
      assert.equal("transport", err.kind)
      assert.matches("Content%-Encoding", err.message)
      m:close()
    end)

    it("reads a body dripped one byte at a time", function()
      local m = core.multi()
      local r = get(m, "/drip?delay=1"):finish()
      assert.same({ dripped = true, text = "one byte at a time" }, cjson.decode(r.body))
      m:close()
    end)

    it("reuses one connection for 5 sequential requests on one multi", function()
      local m = core.multi()
      local conn, conns, connects = {}, {}, {}
      for i = 1, 5 do
        local t = get(m, "/json")
        local r = assert(t:finish())
        conn[i], conns[i] = r.headers["x-conn"], tonumber(r.headers["x-conns"])
        connects[i] = t:info().num_connects
        t:close()
      end
      assert.same({ conn[1], conn[1], conn[1], conn[1], conn[1] }, conn)
      assert.same({ 1, 0, 0, 0, 0 }, connects)
      assert.equal(conns[1], conns[5]) -- the peer accepted no new connection meanwhile
      m:close()
    end)

    it("runs several transfers at once; waiting on one moves the others", function()
      local m = core.multi()
      local slow = get(m, "/drip?delay=3")
      local fast = { get(m, "/json"), get(m, "/chunked"), get(m, "/multi-header") }
      assert.truthy(slow:finish())
      for _, t in ipairs(fast) do
        local r = t:finish(0) -- already complete: no waiting
        assert.is_table(r)
        assert.equal(200, r.status)
      end
      assert.equal(0, m:perform())
      m:close()
    end)

    it("does not park a request behind a running stream on the same multi", function()
      local m = core.multi()
      local s = get(m, "/sse-hang", { sse = true })
      local j = get(m, "/json") -- added at once, before s has a connection
      local t0 = now()
      local r = assert(j:finish(3000), "the GET waited for the stream")
      assert.equal(200, r.status)
      assert.is_true(now() - t0 < 2)
      assert.truthy(s:next_event())
      m:close()
    end)

    it("max_host_connections = 1 queues a second transfer onto the first one's connection", function()
      local function conns(opts)
        local m = core.multi(opts)
        local a, b = get(m, "/drip?delay=2"), get(m, "/json")
        local ra, rb = assert(a:finish()), assert(b:finish())
        m:close()
        return ra.headers["x-conn"], rb.headers["x-conn"]
      end
      local a1, b1 = conns()
      assert.are_not.equal(a1, b1) -- by default the two run side by side
      local a2, b2 = conns { max_host_connections = 1 }
      assert.equal(a2, b2)
      assert.has_error(function() core.multi { max_host_connections = "1" } end,
        "multi: opts.max_host_connections must be a number from 0 to 2e9")
    end)

    it("m:perform drives everything and counts what still runs", function()
      local m = core.multi()
      local a, b = get(m, "/drip?delay=2"), get(m, "/json")
      assert.equal(2, m:perform(0))
      local t0 = now()
      while m:perform(100) > 0 do assert.is_true(now() - t0 < 10) end
      assert.equal(200, a:finish(0).status)
      assert.equal(200, b:finish(0).status)
      m:close()
    end)
  end)

  describe("event streams", function()
    it("hands out each event as it completes, before the body ends", function()
      local m = core.multi()
      local t0 = now()
      local t = get(m, "/sse?n=2&delay=0&hold=1500", { sse = true, idle_timeout = 5000 })
      local status, h, framed = t:headers()
      assert.equal(200, status)
      assert.equal("text/event-stream", h["content-type"])
      assert.is_true(framed) -- the third value: the body is framed as events
      local e1 = assert(t:next_event())
      assert.same({ event = "tick", id = "1", data = '{"i":1}', retry = 1500, has_id = true }, e1)
      local e2 = assert(t:next_event())
      assert.same({ event = "tick", id = "2", data = '{"i":2}', retry = 1500, has_id = true }, e2)
      assert.is_true(now() - t0 < 1.2, "events came only at the end of the body")
      assert.is_false(t:next_event(0)) -- the peer still holds the stream open
      assert.is_false(t:info().done)
      assert.is_nil(t:next_event()) -- then it ends cleanly
      assert.is_true(now() - t0 >= 1.4)
      assert.is_nil(t:next_event())
      t:close()
      m:close()
    end)

    it("frames a stream dripped one byte at a time (CR, LF, CRLF, comments)", function()
      local m = core.multi()
      local t = get(m, "/sse-drip", { sse = true })
      local got = events_of(t)
      assert.same({
        { event = "tick", id = "1", data = '{"i":1}', has_id = true },
        { event = "message", id = "1", data = "line one\nline two", has_id = false },
        { event = "message", id = "1", data = "last", has_id = false },
      }, got)
      m:close()
    end)

    it("json = true: each event in the stream's final shape, data decoded, has_id only where id ~= '' would lie", function()
      local path = os.tmpname()
      local f = assert(io.open(path, "wb"))
      f:write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
        "retry: 1500\nid: 7\nevent: tick\ndata: {\"i\":1,\"a\":[],\"s\":\"[2]\"}\n\n", -- retry dropped
        "data: plain text\n\n",                -- inherits id 7: has_id = false
        "id: 9\ndata: [1, {\"x\": 2.5}]\n\n",
        "id:\ndata: \"123\"\n\n",              -- an empty id of its own: has_id = true; a JSON string
        "data: null\n\n")                      -- inherits the empty id: id ~= '' says so
      f:close()
      local m = core.multi()
      local t = get(m, "/raw?file=" .. path, { sse = true, json = true })
      local got = events_of(t)
      os.remove(path)
      assert.same({
        { event = "tick", id = "7", data = { i = 1, a = {}, s = "[2]" } },
        { event = "message", id = "7", data = "plain text", has_id = false },
        { event = "message", id = "9", data = { 1, { x = 2.5 } } },
        { event = "message", id = "", data = "123", has_id = true },
        { event = "message", id = "", data = core.null },
      }, got)
      assert.equal(core.array_mt, getmetatable(got[1].data.a))
      assert.equal(core.array_mt, getmetatable(got[3].data))
      assert.is_nil(getmetatable(got[1].data))
      if math.type then assert.equal("integer", math.type(got[1].data.i)) end
      m:close()
    end)

    it("buffers a 401 JSON answer to an sse request so the error can be read", function()
      local m = core.multi()
      local t = get(m, "/sse-401", { sse = true, headers = { "Accept: text/event-stream" } })
      local status, _, framed = t:headers()
      assert.equal(401, status)
      assert.is_false(framed) -- an error status is a body to read, whatever its type
      local ev, err = t:next_event()
      assert.is_nil(ev)
      assert.equal("sse", err.kind)
      assert.matches("not an event stream", err.message)
      local r = assert(t:finish())
      assert.equal(401, r.status)
      assert.equal("authentication_error", cjson.decode(r.body).error.type)
      m:close()
    end)

    it("refuses finish() on an event stream and next_event() without sse", function()
      local m = core.multi()
      local t = get(m, "/sse?n=1&delay=0", { sse = true })
      local r, err = t:finish()
      assert.is_nil(r)
      assert.matches("event stream", err.message)
      assert.truthy(t:next_event())
      local j = get(m, "/sse?n=1&delay=0")
      assert.is_nil((j:next_event()))
      assert.matches("data: ", j:finish().body) -- without sse the stream is just a body
      local js = get(m, "/sse-json", { sse = true })
      assert.is_false(select(3, js:headers())) -- asked for sse, answered JSON
      assert.equal(true, cjson.decode(js:finish().body).not_a_stream)
      m:close()
    end)

    it("keep-alive comments count as bytes for idle_timeout", function()
      local m = core.multi()
      local t = get(m, "/sse-keepalive?n=6&every=100", { sse = true, idle_timeout = 400 })
      local ev, err = t:next_event()
      assert.is_nil(err)
      assert.equal("1", ev.id)
      assert.is_nil(t:next_event())
      m:close()
    end)

    it("aborts a silent stream after idle_timeout, after delivering what came", function()
      local m = core.multi()
      local t = get(m, "/sse-hang", { sse = true, idle_timeout = 300 })
      assert.equal("1", assert(t:next_event()).id)
      local t0 = now()
      local ev, err = t:next_event()
      assert.is_nil(ev)
      assert.equal("timeout", err.kind)
      assert.matches("idle_timeout", err.message)
      assert.is_true(now() - t0 < 2.5)
      assert.same({ nil, err }, { t:next_event() }) -- it stays failed
      m:close()
    end)

    it("delivers the framed events, then an error, when the peer drops mid-stream", function()
      local m = core.multi()
      local t = get(m, "/sse-cut", { sse = true })
      assert.equal("1", assert(t:next_event()).id)
      assert.equal("2", assert(t:next_event()).id)
      local ev, err = t:next_event()
      assert.is_nil(ev)
      assert.equal("transport", err.kind)
      assert.is_number(err.code)
      assert.is_string(err.message)
      m:close()
    end)

    it("fails clearly when a line exceeds max_line or an event max_event", function()
      local m = core.multi()
      local t = get(m, "/sse-big?n=3&size=5000", { sse = true, max_line = 1000 })
      local ev, err = t:next_event()
      assert.is_nil(ev)
      assert.equal("sse", err.kind)
      assert.matches("max_line", err.message)
      t = get(m, "/sse-big?n=3&size=5000", { sse = true, max_event = 1000 })
      ev, err = t:next_event()
      assert.is_nil(ev)
      assert.equal("sse", err.kind)
      assert.matches("max_event", err.message)
      assert.equal(5000, #assert(get(m, "/sse-big?n=1&size=5000", { sse = true }):next_event()).data)
      m:close()
    end)

    it("pauses a stream whose reader is behind: memory stays bounded, nothing is lost", function()
      local m = core.multi()
      local n, size, max_queued = 3000, 1000, 32 * 1024
      local t = get(m, "/sse-big?n=" .. n .. "&size=" .. size, { sse = true, max_queued = max_queued })
      -- drive the multi without reading: events pile up to max_queued, then curl is paused
      local t0 = now()
      while t:info().paused == 0 and now() - t0 < 10 do m:perform(20) end
      for _ = 1, 20 do m:perform(10) end
      local info = t:info()
      assert.is_true(info.paused >= 1)
      assert.is_false(info.done)
      assert.is_true(info.queued >= max_queued)
      -- one write callback (<= 16 KiB of input) may overshoot
      assert.is_true(info.queued_peak <= max_queued + 20 * 1024, "queued_peak " .. info.queued_peak)
      -- read slowly: interleave reading with driving; all events arrive, in order
      local i = 0
      while true do
        local ev, err = t:next_event()
        assert.is_nil(err)
        if not ev then break end
        i = i + 1
        assert.equal(tostring(i), ev.id)
        assert.equal(size, #ev.data)
        if i % 100 == 0 then m:perform(0) end
      end
      assert.equal(n, i)
      info = t:info()
      assert.is_true(info.paused > 1, "paused " .. info.paused)
      assert.is_true(info.queued_peak <= max_queued + 20 * 1024, "queued_peak " .. info.queued_peak)
      m:close()
    end)

    it("lets two coroutines read two streams interleaved, yielding between events", function()
      local m = core.multi()
      local order = {}
      local function reader(name)
        return coroutine.wrap(function()
          local t = get(m, "/sse?n=4&delay=30", { sse = true })
          while true do
            local ev, err = t:next_event()
            assert.is_nil(err)
            if not ev then break end
            order[#order + 1] = name .. ev.id
            coroutine.yield(true)
          end
          t:close()
          return false
        end)
      end
      local a, b = reader("a"), reader("b")
      local ra, rb = true, true
      while ra or rb do
        if ra then ra = a() end
        if rb then rb = b() end
      end
      assert.same({ "a1", "b1", "a2", "b2", "a3", "b3", "a4", "b4" }, order)
      m:close()
    end)
  end)

  describe("failures", function()
    it("reports a total timeout", function()
      local m = core.multi()
      local t = get(m, "/hang", { timeout = 300 })
      local status, err = t:headers()
      assert.is_nil(status)
      assert.equal("timeout", err.kind)
      assert.equal(28, err.code)
      m:close()
    end)

    it("returns false when wait_ms elapses first, then carries on", function()
      local m = core.multi()
      local t = get(m, "/drip?delay=5")
      local t0 = now()
      assert.is_false(t:finish(50))
      assert.is_true(now() - t0 < 1)
      assert.equal(200, assert(t:finish()).status)
      local h = get(m, "/hang")
      assert.is_false(h:headers(0))
      assert.is_false(h:headers(30))
      h:close()
      m:close()
    end)

    it("reports a refused connection", function()
      local m = core.multi()
      local t = m:request { method = "GET", url = "http://127.0.0.1:1/" }
      local r, err = t:finish()
      assert.is_nil(r)
      assert.equal("connect", err.kind)
      assert.equal(7, err.code)
      assert.matches("127.0.0.1", err.message) -- curl's error buffer is in there
      m:close()
    end)

    it("reports an unknown host", function()
      local m = core.multi()
      local _, err = m:request { method = "GET", url = "http://no-such-host.invalid/",
        connect_timeout = 8000 }:finish()
      -- "dns" wherever a resolver answers; a machine whose resolver never answers times out
      assert.is_true(err.kind == "dns" or (err.kind == "timeout" and err.code == 28), err.message)
      assert.matches("no%-such%-host", err.message)
      m:close()
    end)

    it("aborts a body bigger than max_body", function()
      local m = core.multi()
      local r, err = get(m, "/big?size=200000", { max_body = 1000 }):finish()
      assert.is_nil(r)
      assert.equal("too_large", err.kind)
      assert.equal(200000, #get(m, "/big?size=200000"):finish().body)
      m:close()
    end)

    it("aborts a response whose headers exceed 256 KiB", function()
      local m = core.multi()
      local r, err = get(m, "/huge-headers?n=300"):finish()
      assert.is_nil(r)
      assert.equal("too_large", err.kind)
      assert.matches("headers exceed", err.message)
      assert.equal(200, assert(get(m, "/huge-headers?n=100"):finish()).status)
      m:close()
    end)

    it("reports a connection closed before any answer", function()
      local m = core.multi()
      local r, err = get(m, "/empty-reply"):finish()
      assert.is_nil(r)
      assert.equal("transport", err.kind)
      assert.equal(52, err.code) -- CURLE_GOT_NOTHING
      m:close()
    end)

    it("refuses protocols other than http and https", function()
      local m = core.multi()
      local _, err = m:request { method = "GET", url = "file:///etc/passwd" }:finish()
      assert.equal("transport", err.kind)
      m:close()
    end)

    it("raises on programmer errors", function()
      local m = core.multi()
      assert.has_error(function() m:request { url = base } end)
      assert.has_error(function() m:request { method = "GET" } end)
      assert.has_error(function() m:request { method = "G E T", url = base } end)
      assert.has_error(function() m:request { method = "GET", url = base, headers = { "X: a\r\nY: b" } } end)
      assert.has_error(function() m:request { method = "GET", url = base, headers = "X: a" } end)
      assert.has_error(function() m:request { method = "GET", url = base, sse = 1 } end)
      assert.has_error(function() m:request { method = "GET", url = base, timeout = "1" } end)
      assert.has_error(function() m:request { method = "GET", url = base, body = {} } end)
      assert.has_error(function() get(m, "/json"):headers(-1) end)
      m:close()
    end)
  end)

  describe("lifetimes", function()
    it("closes idempotently; a closed transfer raises when used", function()
      local m = core.multi()
      local t = get(m, "/json")
      t:close()
      t:close()
      assert.has_error(function() t:headers() end)
      assert.has_error(function() t:next_event() end)
      assert.matches("closed", tostring(t))
      m:close()
      m:close()
      assert.has_error(function() get(m, "/json") end)
    end)

    it("m:close() ends running transfers with a 'closed' error and keeps finished ones", function()
      local m = core.multi()
      local done = get(m, "/json")
      assert.truthy(done:finish())
      local running = get(m, "/sse-hang", { sse = true })
      assert.truthy(running:next_event())
      m:close()
      local ev, err = running:next_event()
      assert.is_nil(ev)
      assert.same({ kind = "closed", message = "client closed" }, err)
      assert.equal(200, done:finish().status)
    end)

    it("frees abandoned streams by GC; a transfer keeps its multi alive", function()
      local m = core.multi()
      for _ = 1, 5 do
        local t = get(m, "/sse-hang", { sse = true })
        assert.truthy(t:next_event())
      end
      collectgarbage()
      collectgarbage()
      assert.equal(0, m:perform(0))
      local t = core.multi():request { method = "GET", url = base .. "/json", sse = true }
      collectgarbage()
      collectgarbage()
      assert.equal(200, t:finish().status)
      m:close()
    end)

    if _VERSION == "Lua 5.4" then
      it("closes a transfer at the end of a <close> scope", function()
        local m = core.multi()
        local chunk = assert(load([[
          local m, url = ...
          local t <close> = m:request { method = "GET", url = url, sse = true }
          assert(t:next_event())
          return t
        ]]))
        local t = chunk(m, base .. "/sse-hang")
        assert.matches("closed", tostring(t))
        assert.equal(0, m:perform(0))
        m:close()
      end)
    end
  end)

  describe("TLS (against openssl s_server)", function()
    local tls_peer = require "helpers.tls_peer"
    local have_openssl = tls_peer.available()
    local tls

    setup(function() tls = tls_peer.start() end)
    teardown(function() if tls then tls:stop() end end)

    local function fetch(host, ca)
      local m = core.multi()
      local r, err = m:request { method = "GET", url = ("https://%s:%d/"):format(host, tls.port),
        ca_file = ca }:finish()
      m:close()
      return r, err
    end

    it("verifies the peer: a self-signed certificate is refused", function()
      if not have_openssl then return pending("no openssl command") end
      local r, err = fetch("localhost")
      assert.is_nil(r)
      assert.equal("tls", err.kind)
      assert.equal(60, err.code)
      assert.matches("self%-signed", err.message)
    end)

    it("trusts a ca_file, and still checks the host name against it", function()
      if not have_openssl then return pending("no openssl command") end
      local r = assert(fetch("localhost", tls.cert))
      assert.equal(200, r.status)
      local r2, err = fetch("127.0.0.1", tls.cert)
      assert.is_nil(r2)
      assert.equal("tls", err.kind)
      assert.matches("127.0.0.1", err.message)
    end)

    it("reports an unreadable ca_file as a TLS failure", function()
      if not have_openssl then return pending("no openssl command") end
      local _, err = fetch("localhost", tls.dir .. "/missing.pem")
      assert.equal("tls", err.kind)
      assert.equal(77, err.code)
    end)
  end)

  describe("environment", function()
    it("uses a proxy from http_proxy", function()
      local script = os.tmpname()
      local f = assert(io.open(script, "w"))
      f:write([[
        local core = require "exa.core"
        local r, err = core.multi():request{ method = "GET", url = "http://proxied.example/x" }:finish()
        io.write(r and r.body or ("ERR " .. err.kind .. " " .. err.message))
      ]])
      f:close()
      local p = io.popen("env http_proxy=" .. base .. " no_proxy= NO_PROXY= " .. lua_cmd() .. " " .. script)
      local out = p:read("*a")
      p:close()
      os.remove(script)
      local ok, body = pcall(cjson.decode, out)
      assert(ok, out)
      assert.same({ proxied = true, target = "http://proxied.example/x" }, body)
    end)
  end)
end)
