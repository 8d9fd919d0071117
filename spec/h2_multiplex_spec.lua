-- h2_multiplex_spec.lua - event streams over HTTPS share HTTP/2 connections
-- (issue 14): 1,000 concurrent streams ride at most 20 TLS connections, a
-- host that answers HTTP/1.1 over TLS, and plain http, still get one
-- connection per concurrent stream, and a stream whose reader is behind
-- (paused) does not hold back the other streams on its connection. Against
-- a throwaway nginx (`listen ssl http2`) that counts connections itself
-- ($connection in its access log). Counts only, never times.
local core = require "exa.core"
local nginx = require "helpers.nginx"
local tls_peer = require "helpers.tls_peer"

describe("HTTP/2 multiplexing", function()
  local srv, srv1, tls

  local function location(name, log)
    return table.concat({
      "    location /" .. name .. " {",
      "      access_log logs/" .. log .. ".log conns;",
      "      content_by_lua_block {",
      -- hold=MS: the head waits (a server slow to answer, so every
      -- connection the client opens is made before the first head arrives)
      "        if ngx.var.arg_hold then ngx.sleep(tonumber(ngx.var.arg_hold) / 1000) end",
      "        ngx.header.content_type = 'text/event-stream'",
      "        local n, d = tonumber(ngx.var.arg_n), tonumber(ngx.var.arg_delay or 0) / 1000",
      "        local pad = string.rep('p', tonumber(ngx.var.arg_pad or 0))",
      -- gate=G&want=W: after its first event a stream waits until W streams
      -- of gate G have sent theirs (at most 60 s), so "all open at once"
      -- depends on the client alone, not on how fast the machine is
      "        local gate, want = ngx.var.arg_gate, tonumber(ngx.var.arg_want or 0)",
      -- the server counts the requests of gate G open at once (G:max): what
      -- "all open at once" means, whatever order the client reads them in
      "        local g = ngx.shared.gate",
      "        if gate then",
      "          local o = g:incr(gate .. ':open', 1, 0)",
      "          if o > (g:get(gate .. ':max') or 0) then g:set(gate .. ':max', o) end",
      "        end",
      "        for i = 1, n do",
      "          ngx.print('id: ', i, '\\ndata: {\"n\":', i, ',\"pad\":\"', pad, '\"}\\n\\n')",
      "          if d > 0 or i == 1 then ngx.flush(true) end",
      "          if i == 1 and gate then",
      "            local g, waited = ngx.shared.gate, 0",
      "            g:incr(gate, 1, 0)",
      "            while g:get(gate) < want and waited < 60 do ngx.sleep(0.02); waited = waited + 0.02 end",
      "          end",
      "          if d > 0 and i < n then ngx.sleep(d) end",
      "        end",
      "        if gate then g:incr(gate .. ':open', -1) end",
      "      }",
      "    }",
    }, "\n")
  end

  -- how many requests of a gate the server had open at one moment
  local GATEMAX = "    location /gatemax { content_by_lua_block { "
    .. "ngx.print(ngx.shared.gate:get(ngx.var.arg_gate .. ':max') or 0) } }"

  setup(function()
    assert(nginx.available())
    tls = tls_peer.certificate()
    srv = nginx.start{
      http = "  log_format conns '$server_port $connection';\n  lua_shared_dict gate 1m;",
      server = table.concat({
        "    listen 127.0.0.1:${PORT2} ssl http2;",
        "    ssl_certificate " .. tls.cert .. ";",
        "    ssl_certificate_key " .. tls.key .. ";",
        "    http2_max_concurrent_streams 1024;",
        location("s", "s"),
        location("f", "f"),
        GATEMAX,
      }, "\n"),
    }
    -- TLS without h2: ALPN settles on HTTP/1.1
    srv1 = nginx.start{
      http = "  log_format conns '$server_port $connection';\n  lua_shared_dict gate 1m;",
      server = table.concat({
        "    listen 127.0.0.1:${PORT2} ssl;",
        "    ssl_certificate " .. tls.cert .. ";",
        "    ssl_certificate_key " .. tls.key .. ";",
        location("s", "s"),
        GATEMAX,
      }, "\n"),
    }
  end)

  teardown(function()
    if srv then srv:stop() end
    if srv1 then srv1:stop() end
    if tls then os.execute("rm -rf " .. tls.dir) end
  end)

  -- distinct connections to port in the access log of server s
  local function connections(s, port, log)
    os.execute("sleep 0.2") -- nginx writes a line as each request ends; counted after all ended
    local seen, n = {}, 0
    for l in io.lines(s.prefix .. "/logs/" .. (log or "s") .. ".log") do
      if l:match("^%d+") == tostring(port) and not seen[l] then seen[l], n = true, n + 1 end
    end
    return n
  end

  local function open_at_once(s, gate)
    local m = core.multi()
    local r = assert(m:request{ method = "GET", url = ("http://127.0.0.1:%d/gatemax?gate=%s"):format(s.port, gate) }
      :finish())
    m:close()
    return tonumber(r.body)
  end

  -- Open n streams on m at once and read them all, the way a scheduler does.
  -- Returns the events read and how many streams were HTTP/2. (How many were
  -- open at once the server counts: the client's reading order would blur it.)
  local function read_all(m, url, n, per, ca)
    local ts = {}
    for i = 1, n do ts[i] = m:request{ method = "GET", url = url, sse = true, ca_file = ca, idle_timeout = 90000 } end
    local got, ended, events, h2 = {}, 0, 0, 0
    for i = 1, n do got[i] = 0 end
    while ended < n do
      for _, id in ipairs(m:wait(1000)) do
        while true do
          local ev, err = ts[id]:next_event(0)
          if ev == false then break end
          if ev == nil then
            assert.is_nil(err and err.message)
            ended = ended + 1
            break
          end
          got[id], events = got[id] + 1, events + 1
        end
      end
    end
    for i = 1, n do
      assert.equals(per, got[i])
      if ts[i]:info().http_version == "2" then h2 = h2 + 1 end
      ts[i]:close()
    end
    return events, h2
  end

  it("1,000 concurrent streams over TLS ride at most 20 HTTP/2 connections", function()
    local m = core.multi()
    local url = ("https://localhost:%d/s?n=3&delay=10&gate=h2&want=1000"):format(srv.port2)
    local events, h2 = read_all(m, url, 1000, 3, tls.cert)
    m:close()
    assert.equals(3000, events)
    assert.equals(1000, h2, "every stream was HTTP/2")
    assert.equals(1000, open_at_once(srv, "h2"), "all 1,000 were open at once")
    local n = connections(srv, srv.port2)
    assert.is_true(n <= 20, n .. " TLS connections")
  end)

  -- the bound on connections would park HTTP/1.1 streams behind others
  it("HTTP/1.1 over TLS: 100 concurrent streams, each on its own connection, all open at once", function()
    local m = core.multi()
    local url = ("https://localhost:%d/s?n=3&delay=10&gate=tls1&want=100"):format(srv1.port2)
    local events, h2 = read_all(m, url, 100, 3, tls.cert)
    m:close()
    assert.equals(300, events)
    assert.equals(0, h2)
    assert.equals(100, open_at_once(srv1, "tls1"), "all 100 were open at once")
    assert.equals(100, connections(srv1, srv1.port2))
  end)

  -- libcurl parks the transfers past the bound (20) as pending and looks at
  -- them again only when a transfer ends or a connection changes: lifting
  -- the bound when the first head says HTTP/1.1 must wake them, or they wait
  -- behind event streams that may never end
  it("HTTP/1.1 over TLS: 40 streams whose heads come late, past the bound, all open at once", function()
    local m = core.multi()
    local url = ("https://localhost:%d/s?n=2&hold=1000&gate=late&want=40"):format(srv1.port2)
    local events, h2 = read_all(m, url, 40, 2, tls.cert)
    m:close()
    assert.equals(80, events)
    assert.equals(0, h2)
    assert.equals(40, open_at_once(srv1, "late"), "all 40 were open at once")
  end)

  it("plain http: 100 concurrent streams, each on its own connection, all open at once", function()
    local m = core.multi()
    local url = ("http://127.0.0.1:%d/s?n=3&delay=10&gate=plain&want=100"):format(srv.port)
    local events = read_all(m, url, 100, 3)
    m:close()
    assert.equals(300, events)
    assert.equals(100, open_at_once(srv, "plain"), "all 100 were open at once")
    assert.equals(100, connections(srv, srv.port))
  end)

  it("a paused stream does not hold back the other streams on its connection", function()
    local m = core.multi()
    local base = ("https://localhost:%d/f"):format(srv.port2)
    -- the slow reader: 4,000 events of about 300 bytes (1.2 MB), a small queue;
    -- read once, then left alone until the others are done
    local slow = m:request{ method = "GET", url = base .. "?n=4000&pad=256", sse = true, ca_file = tls.cert,
      idle_timeout = 20000, max_queued = 4096 }
    assert.is_table(slow:next_event())
    while slow:info().paused == 0 do m:wait(100) end -- it fell behind: curl holds its bytes
    -- 5 streams on the same connection, written while the slow one is paused
    local K, PER = 5, 200
    local ts, got, ended = {}, {}, 0
    for i = 1, K do
      ts[i] = m:request{ method = "GET", url = base .. "?n=" .. PER .. "&delay=2", sse = true, ca_file = tls.cert,
        idle_timeout = 5000 }
      got[i] = 0
    end
    local byid = {}
    for i = 1, K do byid[ts[i]:id()] = i end
    while ended < K do
      for _, id in ipairs(m:wait(1000)) do
        local i = byid[id]
        while i do
          local ev, err = ts[i]:next_event(0)
          if ev == false then break end
          if ev == nil then
            assert.is_nil(err and err.message, "stream " .. i .. " after " .. got[i] .. " events")
            ended = ended + 1
            break
          end
          got[i] = got[i] + 1
        end
      end
    end
    for i = 1, K do
      assert.equals(PER, got[i], "stream " .. i)
      assert.equals("2", ts[i]:info().http_version)
      ts[i]:close()
    end
    -- the slow one was still behind the whole time (libcurl 7.88 stops its
    -- stream alone: it keeps taking the stream's bytes, up to the h2 window,
    -- into its own pause buffer), and then gets everything
    assert.is_true(slow:info().events < 4000, "the slow stream was read meanwhile: this proves nothing")
    local n = 1
    while true do
      local ev, err = slow:next_event()
      if not ev then
        assert.is_nil(err and err.message)
        break
      end
      n = n + 1
    end
    assert.equals(4000, n)
    slow:close()
    m:close()
    assert.equals(1, connections(srv, srv.port2, "f"), "all on one connection")
  end)
end)
