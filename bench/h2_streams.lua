-- exa.core with many event streams at once over HTTPS + HTTP/2 (ALPN), the
-- shape of the real API: TLS connections nginx accepted, CPU per event and
-- memory per stream at N concurrent SSE transfers on one multi.
--
--   LUA_PATH='spec/?.lua;;' LUA_CPATH=build/5.4/?.so lua5.4 bench/h2_streams.lua [N] [max_host_connections] [h1]
--
-- The server is a throwaway nginx (spec/helpers/nginx.lua, `listen ssl
-- http2`, a self-signed certificate from spec/helpers/tls_peer.lua) whose
-- Lua location writes `per` events `delay` ms apart. Connections are counted
-- by nginx ($connection in its access log), not by the client. Memory:
-- VmRSS with every stream open (each has delivered its first event) minus
-- VmRSS before the first request, over N. Only this process's CPU counts.
local core = require "exa.core"
local nginx = require "helpers.nginx"
local tls_peer = require "helpers.tls_peer"
local streams = dofile((arg and arg[0] or ""):gsub("[^/]*$", "") .. "lib/streams.lua")
local rss_kib = streams.rss_kib

local N = tonumber(arg[1]) or 1000
local MAXH = tonumber(arg[2]) or 0
local PROTO = arg[3] == "h1" and "" or " http2" -- h1: TLS without h2 (ALPN http/1.1)
local PER, DELAY = streams.plan(N)

local tls = tls_peer.certificate()
local srv = nginx.start{
  http = "  log_format conns '$connection';",
  server = table.concat({
    "    listen 127.0.0.1:${PORT2} ssl" .. PROTO .. ";",
    "    ssl_certificate " .. tls.cert .. ";",
    "    ssl_certificate_key " .. tls.key .. ";",
    "    http2_max_concurrent_streams 1024;",
    "    location /sse {",
    "      access_log logs/conns.log conns;",
    "      content_by_lua_block {",
    "        ngx.header.content_type = 'text/event-stream'",
    "        local n, d = tonumber(ngx.var.arg_n), tonumber(ngx.var.arg_delay) / 1000",
    "        for i = 1, n do",
    "          ngx.print('id: ', i, '\\nevent: agent_run.output.delta\\ndata: {\"n\":', i,",
    "            ',\"text\":\"lorem ipsum dolor\"}\\n\\n')",
    "          ngx.flush(true)",
    "          if i < n then ngx.sleep(d) end",
    "        end",
    "      }",
    "    }",
  }, "\n"),
}

local ok, err = pcall(function()
  local url = ("https://localhost:%d/sse?n=%d&delay=%d"):format(srv.port2, PER, DELAY)
  collectgarbage()
  collectgarbage()
  local rss0 = rss_kib()
  local m = core.multi{ max_host_connections = MAXH }
  local c0 = os.clock()
  local ts = {}
  for i = 1, N do
    ts[i] = m:request{ method = "GET", url = url, sse = true, ca_file = tls.cert, idle_timeout = 30000 }
  end
  local got, open, ended, peak, events, live, maxlive = {}, 0, 0, 0, 0, 0, 0
  for i = 1, N do got[i] = 0 end
  while ended < N do
    for _, id in ipairs(m:wait(5000)) do
      local t = ts[id]
      while true do
        local ev, e = t:next_event(0)
        if ev == false then break end
        if ev == nil then
          assert(not e, e and e.message)
          ended = ended + 1
          live = live - 1
          break
        end
        got[id] = got[id] + 1
        events = events + 1
        if got[id] == 1 then
          open = open + 1
          live = live + 1
          if live > maxlive then maxlive = live end
          if live == N then peak = rss_kib() end
        end
      end
    end
  end
  local cpu = os.clock() - c0
  assert(events == N * PER, ("%d events, want %d"):format(events, N * PER))
  if peak == 0 then error(("never were all %d streams open at once (at most %d)"):format(N, maxlive)) end
  local h2 = 0
  for i = 1, N do if ts[i]:info().http_version == "2" then h2 = h2 + 1 end; ts[i]:close() end
  m:close()
  os.execute("sleep 0.3") -- nginx writes its log line as each request ends
  local conns = {}
  local nconn = 0
  for l in io.lines(srv.prefix .. "/logs/conns.log") do
    if not conns[l] then conns[l] = true; nconn = nconn + 1 end
  end
  print(("%s, libcurl %s: %d streams (%d over h2), %d events, max_host_connections %d"):format(
    jit and jit.version or _VERSION, core.curl_version, N, h2, events, MAXH))
  print(("TLS connections (nginx): %d   cpu %.1f us/event   %.1f KiB/stream (peak RSS with all open)"):format(
    nconn, cpu / events * 1e6, (peak - rss0) / N))
end)
srv:stop()
os.execute("rm -rf " .. tls.dir)
if not ok then error(err, 0) end
