-- A TLS peer for specs: `openssl s_server -www` on a free loopback port, with
-- a fresh self-signed certificate valid for the name "localhost" only.
--   local tls_peer = require "helpers.tls_peer"
--   local peer = tls_peer.start()   -- nil when the openssl command is missing
--   peer.port, peer.cert (the certificate, usable as a ca_file), peer.dir; peer:stop()
--   tls_peer.certificate()          -- such a certificate alone, for another server:
--                                   -- {dir=, cert=, key=} in a new temp dir
local M = {}

function M.available()
  local ok = os.execute("command -v openssl >/dev/null 2>&1")
  return ok == true or ok == 0
end

local Peer = {}
Peer.__index = Peer

function Peer:stop()
  if self.pid then os.execute("kill " .. self.pid .. " 2>/dev/null") end
  if self.pipe then self.pipe:close() end
  if self.dir then os.execute("rm -rf " .. self.dir) end
  self.pid, self.pipe, self.dir = nil, nil, nil
end

function M.certificate()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  assert(os.execute("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    .. " -keyout " .. dir .. "/key.pem -out " .. dir .. "/cert.pem -days 2 -subj /CN=localhost"
    .. " -addext subjectAltName=DNS:localhost >/dev/null 2>&1"))
  return { dir = dir, cert = dir .. "/cert.pem", key = dir .. "/key.pem" }
end

function M.start()
  if not M.available() then return nil end
  local dir = M.certificate().dir
  local pipe = assert(io.popen("echo $$; exec openssl s_server -accept 127.0.0.1:0 -www -cert "
    .. dir .. "/cert.pem -key " .. dir .. "/key.pem 2>&1"))
  local peer = setmetatable({ dir = dir, cert = dir .. "/cert.pem", pipe = pipe,
    pid = tonumber(pipe:read("*l")) }, Peer)
  for line in pipe:lines() do
    peer.port = tonumber(line:match("^ACCEPT .*:(%d+)$"))
    if peer.port then break end
  end
  if not peer.port then
    peer:stop()
    error("openssl s_server did not start")
  end
  return peer
end

return M
