-- bench/lib/streams.lua - what bench/core_streams.lua (HTTP/1.1) and
-- bench/h2_streams.lua (TLS + h2) share, so their figures compare:
-- the load plan for N streams and the process's resident memory.
local M = {}

--- Plan for n streams: events per stream and ms between them (about 2,000 events/s in all).
function M.plan(n)
  local per = math.max(10, math.floor(4000 / n))
  local delay = math.max(1, math.floor(n / 2))
  return per, delay
end

--- This process's resident set (VmRSS), KiB.
function M.rss_kib()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)")) or 0
end

return M
