-- The simulator's HTTP layer and its faults: keep-alive, pipelining,
-- Connection: close, malformed requests, and every X-Mock-Fault.
if _VERSION ~= "Lua 5.4" then return end

local mock = require "helpers.mock"
local json = require "exa_mock.json"
local cqueues = require "cqueues"
local socket = require "cqueues.socket"

-- Send raw bytes, read until the server closes (or timeout). Returns the reply.
local function raw(port, data, timeout)
  local cq = cqueues.new()
  local out
  cq:wrap(function()
    local s = socket.connect { host = "127.0.0.1", port = port }
    s:setmode("b", "b")
    s:write(data)
    s:flush()
    local parts = {}
    local deadline = cqueues.monotime() + (timeout or 3)
    while cqueues.monotime() < deadline do
      local chunk, err = s:xread(-4096, "b", deadline - cqueues.monotime())
      if not chunk then break end
      parts[#parts + 1] = chunk
    end
    s:close()
    out = table.concat(parts)
  end)
  assert(cq:loop())
  return out
end

local AUTH = "x-api-key: k\r\nExa-Beta: agent-2026-05-07\r\n"

describe("exa-agent-mock HTTP", function()
  local srv
  setup(function() srv = mock.start { "--speed", "100" } end)
  teardown(function() srv:stop() end)

  it("serves several requests over one kept-alive connection", function()
    local before = srv:stats().connections
    local args = {}
    for i = 1, 5 do args[i] = mock.quote(srv.url .. "/agent/runs?limit=" .. i) end
    local cmd = ("curl -s -H 'x-api-key: k' -H 'Exa-Beta: %s' %s >/dev/null"):format(mock.BETA, table.concat(args, " "))
    assert.truthy(os.execute(cmd))
    local after = srv:stats()
    assert.equal(before + 2, after.connections) -- curl's one + this stats request
    assert.truthy(after.requests >= 7)
  end)

  it("answers pipelined requests in order and honours Connection: close", function()
    local req = "GET /agent/runs?limit=1 HTTP/1.1\r\nHost: x\r\n" .. AUTH .. "\r\n"
    local reply = raw(srv.port, req .. req .. "GET /agent/runs HTTP/1.1\r\nHost: x\r\n" .. AUTH
      .. "Connection: close\r\n\r\n")
    local n = 0
    for _ in reply:gmatch("HTTP/1%.1 200 OK\r\n") do n = n + 1 end
    assert.equal(3, n)
    assert.truthy(reply:find("Connection: close\r\n", 1, true))
    for len in reply:gmatch("Content%-Length: (%d+)") do assert.truthy(tonumber(len) > 0) end
  end)

  it("answers malformed HTTP with 400 and keeps serving", function()
    for _, bad in ipairs {
      "GARBAGE\r\n\r\n", "GET /x HTTP/9.9\r\n\r\n", "GET /x HTTP/1.1\r\nNo colon here\r\n\r\n",
      "POST /agent/runs HTTP/1.1\r\nContent-Length: abc\r\n\r\n", "GET / HTTP/1.1\r\nX: " .. string.rep("a", 10000) .. "\r\n\r\n",
      "POST /agent/runs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    } do
      local reply = raw(srv.port, bad)
      assert.truthy(reply:match("^HTTP/1%.1 400 "), bad:sub(1, 40))
      local body = reply:match("\r\n\r\n(.*)$")
      assert.equal("INVALID_REQUEST", json.decode(body).error.code)
    end
    -- a client that vanishes mid-request costs nothing
    raw(srv.port, "POST /agent/runs HTTP/1.1\r\nContent-Length: 100\r\n\r\n{", 0.1)
    assert.equal(200, (srv:curl { path = "/_mock/stats" }))
  end)

  it("reads chunked and 100-continue request bodies", function()
    local body = '{"query":"chunked"}'
    local reply = raw(srv.port, "POST /agent/runs HTTP/1.1\r\n" .. AUTH .. "Transfer-Encoding: chunked\r\n"
      .. "Connection: close\r\n\r\n" .. ("%x\r\n%s\r\n0\r\n\r\n"):format(#body, body))
    assert.truthy(reply:match("^HTTP/1%.1 200 "))
    local big = '{"query":"' .. string.rep("long question ", 200) .. '"}'
    local st, _, run = srv:api("POST", "/agent/runs", big, { headers = { "Expect: 100-continue" } })
    assert.equal(200, st)
    assert.equal("queued", run.status)
  end)

  it("fail-first=K answers the first K attempts, counted per key, fault and route", function()
    local F = "X-Mock-Fault: fail-first=2,status=503,retry-after=1"
    local st, h, b = srv:api("GET", "/agent/runs", nil, { headers = { F } })
    assert.equal(503, st)
    assert.equal("1", h["retry-after"])
    assert.same({ "SERVER_ERROR", "SERVER_ERROR" }, { b.error.type, b.error.code })
    assert.equal(503, (srv:api("GET", "/agent/runs", nil, { headers = { F } })))
    assert.equal(200, (srv:api("GET", "/agent/runs", nil, { headers = { F } })))
    assert.equal(503, (srv:api("GET", "/agent/runs", nil, { headers = { F }, key = "another" })))
    assert.equal(503, (srv:api("GET", "/agent/runs?limit=2", nil, { headers = { F .. ",code=SERVER_ERROR" } })))
    st, _, b = srv:api("POST", "/agent/runs", '{"query":"q"}', { headers = { "X-Mock-Fault: fail-first=1,status=429" } })
    assert.same({ 429, "RATE_LIMIT_ERROR", "CONCURRENCY_LIMIT_REACHED" }, { st, b.error.type, b.error.code })
    st, _, b = srv:api("GET", "/agent/runs", nil, { headers = { "X-Mock-Fault: fail-first=1,status=500,code=TIMEOUT" } })
    assert.same({ 500, "SERVER_ERROR", "TIMEOUT" }, { st, b.error.type, b.error.code })
  end)

  it("POST /_mock/reset starts the fail-first counts again", function()
    local F = { headers = { "X-Mock-Fault: fail-first=1,status=502" }, key = "reset-counts" }
    assert.equal(502, (srv:api("GET", "/agent/runs", nil, F)))
    assert.equal(200, (srv:api("GET", "/agent/runs", nil, F)))
    assert.equal(200, (srv:curl { method = "POST", path = "/_mock/reset" }))
    assert.equal(502, (srv:api("GET", "/agent/runs", nil, F)))
  end)

  it("SIGINT and SIGTERM stop it with exit status 0", function()
    local function alive(pid) -- not yet exited (a zombie has exited)
      local f = io.open("/proc/" .. pid .. "/stat")
      if not f then return false end
      local stat = f:read("a")
      f:close()
      return not stat:match("^%d+ %b() Z")
    end
    for _, sig in ipairs { "INT", "TERM" } do
      local s = mock.start {}
      os.execute("kill -" .. sig .. " " .. s.pid)
      for _ = 1, 100 do
        if not alive(s.pid) then break end
        mock.sleep(0.03)
      end
      local ok, how, code = s:stop("KILL") -- reaps it; KILL reaches only a server that ignored sig
      assert.same({ true, "exit", 0 }, { ok, how, code }, sig)
    end
  end)

  it("html-error sends a non-JSON proxy page", function()
    local st, h, b, rawb = srv:api("GET", "/agent/runs", nil, { headers = { "X-Mock-Fault: html-error=502" } })
    assert.equal(502, st)
    assert.truthy(h["content-type"]:find("text/html", 1, true))
    assert.is_nil(b)
    assert.truthy(rawb:find("502 Bad Gateway", 1, true))
    st = srv:api("GET", "/agent/runs", nil, { headers = { "X-Mock-Fault: fail-first=1,status=504,html" } })
    assert.equal(504, st)
  end)

  it("delay-ms delays the headers", function()
    local t0 = cqueues.monotime()
    srv:api("GET", "/agent/runs", nil, { headers = { "X-Mock-Fault: delay-ms=300" } })
    assert.truthy(cqueues.monotime() - t0 >= 0.3)
  end)

  it("drip=MS sleeps MS between bytes", function()
    local t0 = cqueues.monotime()
    local reply = raw(srv.port, "GET /agent/runs?limit=1 HTTP/1.1\r\nx-api-key: drip-ms\r\n"
      .. "Exa-Beta: agent-2026-05-07\r\nX-Mock-Fault: drip=1\r\nConnection: close\r\n\r\n")
    local elapsed = cqueues.monotime() - t0
    assert.truthy(reply:match("^HTTP/1%.1 200 "))
    assert.truthy(elapsed >= #reply * 0.001 * 0.8, ("%d bytes in %.3f s"):format(#reply, elapsed))
  end)

  it("drip sends one byte per write and the body stays intact", function()
    local reply = raw(srv.port, "GET /agent/runs?limit=3 HTTP/1.1\r\n" .. AUTH
      .. "X-Mock-Fault: drip\r\nConnection: close\r\n\r\n")
    local body = reply:match("\r\n\r\n(.*)$")
    assert.equal(tonumber(reply:match("Content%-Length: (%d+)")), #body)
    assert.equal("list", json.decode(body).object)
  end)

  it("gzip compresses only when Accept-Encoding allows it", function()
    local _, h, b = srv:api("GET", "/agent/runs", nil, { headers = { "X-Mock-Fault: gzip" }, raw = { "--compressed" } })
    assert.equal("gzip", h["content-encoding"])
    assert.equal("list", b.object)
    local _, h2, b2 = srv:api("GET", "/agent/runs", nil, { headers = { "X-Mock-Fault: gzip" } })
    assert.is_nil(h2["content-encoding"])
    assert.equal("list", b2.object)
    local reply = raw(srv.port, "GET /agent/runs HTTP/1.1\r\n" .. AUTH
      .. "Accept-Encoding: gzip\r\nX-Mock-Fault: gzip\r\nConnection: close\r\n\r\n")
    assert.truthy(reply:find("\r\n\r\n\31\139", 1, true))
  end)

  it("drop closes the connection without an answer; run-fail fails the run", function()
    for _ = 1, 2 do -- every attempt
      assert.equal(0, (srv:api("GET", "/agent/runs", nil, { headers = { "X-Mock-Fault: drop" } })))
    end
    local st = srv:api("GET", "/agent/runs", nil, { headers = { "X-Mock-Fault: fail-first=1,drop" } })
    assert.equal(0, st)
    assert.equal(200, (srv:api("GET", "/agent/runs", nil, { headers = { "X-Mock-Fault: fail-first=1,drop" } })))
    local _, _, run = srv:api("POST", "/agent/runs", '{"query":"q"}', { headers = { "X-Mock-Fault: run-fail" } })
    run = srv:wait_run(run.id)
    assert.same({ "failed", "error" }, { run.status, run.stopReason })
  end)

  it("applies no fault to /_mock/*", function()
    for _, fault in ipairs { "explode", "drop", "html-error=502", "fail-first=1", "delay-ms=400", "gzip" } do
      local t0 = cqueues.monotime()
      local st, h = srv:curl { path = "/_mock/stats", headers = { "X-Mock-Fault: " .. fault, "Accept-Encoding: gzip" } }
      assert.equal(200, st, fault)
      assert.is_nil(h["content-encoding"], fault)
      assert.truthy(cqueues.monotime() - t0 < 0.3, fault)
    end
  end)

  it("rejects an unknown fault name", function()
    local st, _, b = srv:api("GET", "/agent/runs", nil, { headers = { "X-Mock-Fault: explode" } })
    assert.equal(400, st)
    assert.truthy(b.error.message:find("explode", 1, true))
  end)
end)
