-- peer_proc.lua - start and stop spec/helpers/http_peer.lua (the raw-socket
-- HTTP/1.1 peer) in its own lua5.4 process, for the specs, the scenario
-- harness and the benches that talk to it.
--
--   local peer = require("helpers.peer_proc").start()   -- {pid, port, base, url, pipe}
--   require("helpers.peer_proc").stop(peer)              -- by PID; nil is a no-op
local M = {}

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
M.script = here .. "http_peer.lua"

--- Starts the peer (it exits by itself after lifetime_s, default 900, as a
--- guard against orphans); returns its pid, port and base URL (base == url).
function M.start(lifetime_s)
  -- the shell prints its own pid, then becomes the peer: that pid is the peer's
  local f = assert(io.popen("echo $$; exec lua5.4 " .. M.script .. " " .. (lifetime_s or 900)))
  local pid = assert(tonumber(f:read("*l")), "peer pid")
  local port = assert(tonumber(f:read("*l")), "peer port")
  local base = "http://127.0.0.1:" .. port
  return { pipe = f, pid = pid, port = port, base = base, url = base }
end

--- Stops a peer M.start returned (kill by its PID), then closes its pipe.
function M.stop(p)
  if p then
    os.execute("kill " .. p.pid .. " 2>/dev/null")
    p.pipe:close()
  end
end

return M
