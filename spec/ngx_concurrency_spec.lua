-- Streams through the ngx backend do not block the nginx worker: while 20
-- runs stream through one worker (worker_processes 1), a second location keeps
-- answering (counted against the same worker idle, over the same window), and
-- two streaming requests overlap instead of being served one after the other.
-- Counts and order only; latencies are in bench/ngx_latency.lua.
local nginx = require "helpers.nginx"
local mock = require "helpers.mock"
local scenarios = require "helpers.scenarios"
local relay = require "helpers.ngx_relay"

local STREAMS = 20
local WINDOW = 1.5     -- seconds the second location is counted, idle and busy
local RUN_SECONDS = 6  -- each run's length (simulator at --speed 1): longer than start-up + WINDOW

local function sh(cmd)
  local f = assert(io.popen(cmd, "r"))
  local out = f:read("*a")
  f:close()
  return out
end

local read_file = mock.slurp

local function lines(s)
  local out = {}
  for l in s:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

-- One curl asks /ping over and over on one kept-alive connection for `secs`
-- seconds; the answers (each the number of relays running then).
local function ping_loop(url, secs)
  return ("timeout %s curl -s %s 2>/dev/null"):format(secs, nginx.quote(url .. "/ping?[1-100000000]"))
end

local function summaries(dir, n)
  local out = {}
  for i = 1, n do
    local s = read_file(dir .. "/relay." .. i)
    local j = s:match("\n: summary ([^\n]+)")
    out[i] = j and mock.json.decode(j) or { error = "no summary in: " .. s:sub(-300) }
  end
  return out
end

describe("the ngx backend inside one nginx worker", function()
  local run, why = scenarios.runs_here()
  local srv, ngx_srv

  setup(function()
    if not run then return end
    srv = mock.start{ "--speed", "1", "--max-active", "100" }
    local conf = relay.conf(srv.url)
    ngx_srv = nginx.start{ http = conf.http, server = conf.server }
  end)

  teardown(function()
    if ngx_srv then ngx_srv:stop() end
    if srv then srv:stop() end
  end)

  local function start_relays(dir, n, run_seconds, transport)
    local parts = {}
    for i = 1, n do
      parts[#parts + 1] = ("curl -s -N --max-time 120 %s > %s/relay.%d 2>/dev/null &"):format(
        nginx.quote(("%s/relay?transport=%s&run_seconds=%d&tag=%d"):format(ngx_srv.url, transport or "ngx",
          run_seconds, i)), dir, i)
    end
    return table.concat(parts, "\n")
  end

  -- One measurement: the second location counted idle, while 20 streams run,
  -- and idle again; the relays' summaries.
  local function measure()
    local dir = sh("mktemp -d"):gsub("%s+$", "")
    local url = ngx_srv.url
    local idle1 = lines(sh(ping_loop(url, WINDOW)))
    local script = table.concat({
      start_relays(dir, STREAMS, RUN_SECONDS),
      -- count only once all of them run
      ("for k in $(seq 1 200); do [ \"$(curl -s %s/ping)\" = %d ] && break; sleep 0.05; done"):format(url, STREAMS),
      ping_loop(url, WINDOW) .. " > " .. dir .. "/busy",
      "wait",
    }, "\n")
    sh(script)
    local m = { busy = lines(read_file(dir .. "/busy")), idle1 = idle1, idle2 = lines(sh(ping_loop(url, WINDOW))),
      relays = summaries(dir, STREAMS) }
    os.execute("rm -rf " .. nginx.quote(dir))
    m.idle = (#m.idle1 + #m.idle2) / 2
    m.text = ("answered %d while %d streams ran, %d and %d idle"):format(#m.busy, STREAMS, #m.idle1, #m.idle2)
    return m
  end

  it("keeps answering a second location while 20 runs stream (>= 90% of its idle count)", function()
    if not run then return pending(why) end
    -- the machine is shared: a measurement disturbed by other load is taken
    -- again, up to three times (a blocked worker answers next to nothing)
    local m, tried = nil, {}
    for _ = 1, 3 do
      m = measure()
      tried[#tried + 1] = m.text
      if #m.busy >= 0.9 * m.idle then break end
    end
    for i, r in ipairs(m.relays) do
      assert.is_nil(r.error, "relay " .. i .. ": " .. tostring(r.error))
      assert.equals("agent_run.completed", r.last_event, "relay " .. i)
    end
    -- all 20 were streaming through the whole busy window
    local seen = {}
    for _, b in ipairs(m.busy) do seen[b] = (seen[b] or 0) + 1 end
    assert.same({ [tostring(STREAMS)] = #m.busy }, seen)
    assert.is_true(#m.idle1 > 0 and #m.idle2 > 0)
    assert.is_true(#m.busy >= 0.9 * m.idle, table.concat(tried, "; "))
  end)

  it("streams a pair of requests side by side, not one after the other", function()
    if not run then return pending(why) end
    local dir = sh("mktemp -d"):gsub("%s+$", "")
    sh(start_relays(dir, 2, 2) .. "\nwait")
    local r = summaries(dir, 2)
    os.execute("rm -rf " .. nginx.quote(dir))
    for i = 1, 2 do
      assert.is_nil(r[i].error, tostring(r[i].error))
      assert.equals("agent_run.completed", r[i].last_event)
      assert.is_true(r[i].events > 3)
    end
    -- each one relayed its first event before the other relayed its last
    assert.is_true(r[1].first < r[2].last and r[2].first < r[1].last,
      ("relay 1 events #%d..#%d, relay 2 events #%d..#%d"):format(r[1].first, r[1].last, r[2].first, r[2].last))
  end)
end)
