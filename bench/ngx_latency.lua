-- OpenResty: latency of a trivial second location (/ping) while 20 runs
-- stream through one nginx worker (worker_processes 1), with the ngx backend
-- (cosockets) beside the curl transport (libcurl, which blocks the worker).
-- For bench/run.sh (section 5) and `make bench-ngx`; run from the checkout
-- under lua5.4 with LUA_PATH covering lua/ and spec/.
--
-- Open loop: a new curl asks /ping every 20 ms (each on its own connection,
-- not waiting for the previous answers) from the moment the 20 relays are
-- started until the last one has finished; each answer's time_total is a
-- sample. A closed loop would hide a blocked worker: one slow answer, then
-- nothing is asked while it waits.
local nginx = require "helpers.nginx"
local mock = require "helpers.mock"
local relay = require "helpers.ngx_relay"

local STREAMS = tonumber(os.getenv("BENCH_NGX_STREAMS")) or 20
local RUN_SECONDS = tonumber(os.getenv("BENCH_NGX_RUN_SECONDS")) or 2
local REPEAT = tonumber(os.getenv("BENCH_NGX_REPEAT")) or 3 -- idle and ngx rows: more samples

local function sh(cmd)
  local f = assert(io.popen(cmd, "r"))
  local out = f:read("*a")
  f:close()
  return out
end

local read_file = mock.slurp

local function percentile(sorted, p)
  if #sorted == 0 then return 0 / 0 end
  local i = math.max(1, math.ceil(p / 100 * #sorted))
  return sorted[i]
end

local function samples(text)
  local out = {}
  for v in text:gmatch("[%d.]+") do out[#out + 1] = tonumber(v) * 1000 end
  table.sort(out)
  return out
end

local INTERVAL = 0.02

-- shell: ping every INTERVAL until the file $dir/stop exists, then wait for the answers
local function pinger(url, dir)
  return ("( while [ ! -e %s/stop ]; do curl -s -o /dev/null -w '%%{time_total}\\n' --max-time 900 %s "
    .. ">> %s/pings 2>/dev/null & sleep %s; done; wait ) & pinger=$!"):format(dir, nginx.quote(url .. "/ping"), dir,
    INTERVAL)
end

local function idle(url, dir, secs)
  os.remove(dir .. "/pings")
  os.remove(dir .. "/stop")
  sh(pinger(url, dir) .. ("\nsleep %s; touch %s/stop; wait $pinger"):format(secs, dir))
  return samples(read_file(dir .. "/pings"))
end

-- Start the relays and the pinger; when the relays are done, stop the pinger.
local function busy(url, transport, dir)
  os.remove(dir .. "/pings")
  os.remove(dir .. "/stop")
  local lines = { "pids=''" }
  for i = 1, STREAMS do
    lines[#lines + 1] = ("curl -s -N --max-time 900 %s > %s/relay.%d 2>/dev/null & pids=\"$pids $!\""):format(
      nginx.quote(("%s/relay?transport=%s&run_seconds=%d&tag=%d"):format(url, transport, RUN_SECONDS, i)), dir, i)
  end
  lines[#lines + 1] = "t0=$(date +%s.%N)"
  lines[#lines + 1] = pinger(url, dir)
  lines[#lines + 1] = "wait $pids"
  lines[#lines + 1] = "t1=$(date +%s.%N)"
  lines[#lines + 1] = "touch " .. dir .. "/stop; wait $pinger"
  lines[#lines + 1] = "echo \"$t0 $t1\""
  local t0, t1 = sh(table.concat(lines, "\n")):match("([%d.]+) ([%d.]+)")
  local done = 0
  for i = 1, STREAMS do
    local j = read_file(dir .. "/relay." .. i):match("\n: summary ([^\n]+)")
    local r = j and mock.json.decode(j)
    if r and r.last_event == "agent_run.completed" then done = done + 1 end
  end
  return samples(read_file(dir .. "/pings")), done, tonumber(t1) - tonumber(t0)
end

local srv = mock.start{ "--speed", "1", "--max-active", "1000" }
local conf = relay.conf(srv.url)
local ngx_srv = nginx.start{ http = conf.http, server = conf.server }
local ok, err = pcall(function()
  local dir = sh("mktemp -d"):gsub("%s+$", "")
  local function row(name, s, done, wall)
    print(("%-34s %8d %9.2f %9.2f %10.2f   %8s %8s"):format(name, #s, percentile(s, 50), percentile(s, 99),
      s[#s] or 0 / 0, done and (("%g"):format(done) .. "/" .. STREAMS) or "-", wall and ("%.1f"):format(wall) or "-"))
  end
  print(("%d streams of %d s runs (simulator --speed 1), one nginx worker; /ping asked every %d ms; idle and ngx "
    .. "rows: %d rounds pooled; streams = completed per round, wall = seconds from start to the last stream's end")
    :format(STREAMS, RUN_SECONDS, INTERVAL * 1000, REPEAT))
  print(("%-34s %8s %9s %9s %10s   %8s %8s"):format("", "pings", "p50 ms", "p99 ms", "max ms", "streams", "wall s"))
  local function merge(into, s)
    for _, v in ipairs(s) do into[#into + 1] = v end
    table.sort(into)
  end
  local all = {}
  for _ = 1, REPEAT do merge(all, idle(ngx_srv.url, dir, RUN_SECONDS + 0.5)) end
  row("idle worker (no streams)", all)
  all = {}
  local done, wall = 0, 0
  for _ = 1, REPEAT do
    local s, d, w = busy(ngx_srv.url, "ngx", dir)
    merge(all, s)
    done, wall = done + d, wall + w
  end
  row("ngx backend (cosockets)", all, done / REPEAT, wall / REPEAT)
  local s
  s, done, wall = busy(ngx_srv.url, "curl", dir)
  row("curl transport (libcurl, blocking)", s, done, wall)
  os.execute("rm -rf " .. nginx.quote(dir))
end)
ngx_srv:stop()
srv:stop()
if not ok then error(err, 0) end
