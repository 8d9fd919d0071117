-- The whole client over HTTPS + HTTP/2, the real API's shape: bench/loop_scale.lua
-- (N streamed creates at once on one built-in loop) against the simulator
-- behind a throwaway nginx TLS + HTTP/2 proxy; TLS connections counted by nginx.
--
--   LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='build/5.4/?.so;;' \
--     lua5.4 bench/h2_client.lua [N] [lua command for the client, default lua5.4]
local mock = require "helpers.mock"
local nginx = require "helpers.nginx"
local tls_peer = require "helpers.tls_peer"

local N = tonumber(arg[1]) or 1000
local LUA = arg[2] or "lua5.4"
local tag = LUA == "luajit" and "jit" or LUA:match("lua(5%.%d)") or "5.4"

local sim = mock.start{ "--speed", "200", "--max-active", "100000" }
local tls = tls_peer.certificate()
local srv = nginx.start{
  http = "  log_format conns '$connection';",
  server = table.concat({
    "    listen 127.0.0.1:${PORT2} ssl http2;",
    "    ssl_certificate " .. tls.cert .. ";",
    "    ssl_certificate_key " .. tls.key .. ";",
    "    http2_max_concurrent_streams 128;", -- nginx's default, said out loud
    "    location / {",
    "      access_log logs/conns.log conns;",
    "      proxy_pass " .. sim.url .. ";",
    "      proxy_http_version 1.1;",
    "      proxy_set_header Connection '';",
    "      proxy_buffering off;",
    "      proxy_read_timeout 60s;",
    "    }",
  }, "\n"),
}
local ok, err = pcall(function()
  local cmd = ("EXA_BASE_URL=https://localhost:%d EXA_API_KEY=sk-bench EXA_CA_FILE=%s "
    .. "LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/%s/?.so;;' %s bench/loop_scale.lua %d")
    :format(srv.port2, tls.cert, tag, LUA, N)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  io.write(out)
  os.execute("sleep 0.3")
  local seen, n = {}, 0
  for l in io.lines(srv.prefix .. "/logs/conns.log") do
    if not seen[l] then seen[l], n = true, n + 1 end
  end
  print(("TLS + HTTP/2 proxy (nginx): %d TLS connections for %d streamed creates"):format(n, N))
end)
srv:stop()
sim:stop()
os.execute("rm -rf " .. tls.dir)
if not ok then error(err, 0) end
