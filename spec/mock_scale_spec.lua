-- 1,000 concurrent SSE streams against one simulator process, with bounded
-- memory; half the clients hang up mid-stream. Prints the server's peak RSS.
if _VERSION ~= "Lua 5.4" then return end

local mock = require "helpers.mock"
local cqueues = require "cqueues"
local socket = require "cqueues.socket"

local N = tonumber(os.getenv("MOCK_STREAMS") or "") or 1000

local function vm(pid, field)
  local f = io.open("/proc/" .. pid .. "/status")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return tonumber(text:match(field .. ":%s*(%d+) kB"))
end

describe("exa-agent-mock at scale", function()
  it(N .. " concurrent SSE streams from one process", function()
    -- runs of 60 simulated s (6 s here): all N streams are open before the
    -- first completes, even when the client is slow to connect (valgrind)
    local srv = mock.start { "--speed", "10", "--max-active", tostring(N * 2) }
    local idle_kb = vm(srv.pid, "VmRSS")
    local req = "POST /agent/runs HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\nExa-Beta: agent-2026-05-07\r\n"
      .. "Accept: text/event-stream\r\nContent-Type: application/json\r\nX-Mock-Fault: run-seconds=60\r\n"
      .. "Content-Length: 21\r\n\r\n{\"query\":\"many runs\"}"
    local cq = cqueues.new()
    local completed, hung_up, open, peak_open = 0, 0, 0, 0
    for i = 1, N do
      cq:wrap(function()
        local s = socket.connect { host = "127.0.0.1", port = srv.port }
        s:setmode("b", "b")
        s:write(req)
        s:flush()
        open = open + 1
        if open > peak_open then peak_open = open end
        local buf = {}
        while true do
          local chunk, err = s:xread(-65536, "b", 30)
          if not chunk then
            if os.getenv("MOCK_DEBUG") then io.stderr:write("read: ", tostring(err), " ", table.concat(buf), "\n") end
            break
          end
          buf[#buf + 1] = chunk
          local text = table.concat(buf)
          if i % 2 == 0 and text:find("agent_run.started", 1, true) then
            hung_up = hung_up + 1 -- disconnect mid-stream
            break
          end
          if text:find("event: agent_run.completed", 1, true) and text:find("\r\n0\r\n\r\n$") then
            completed = completed + 1
            break
          end
        end
        open = open - 1
        s:close()
      end)
    end
    assert(cq:loop())
    local st = srv:stats()
    local hwm = vm(srv.pid, "VmHWM")
    io.stderr:write(("\n[mock scale] %d streams (%d completed, %d hung up mid-stream); server VmRSS idle %d kB, "
      .. "peak VmHWM %d kB; connections %d, open_streams now %d\n"):format(N, completed, hung_up, idle_kb or -1,
      hwm or -1, st.connections, st.open_streams))
    assert.equal(math.floor(N / 2), hung_up)
    assert.equal(N - math.floor(N / 2), completed)
    assert.equal(N, peak_open)
    assert.truthy(st.connections >= N)
    mock.sleep(0.3)
    assert.equal(0, srv:stats().open_streams)
    assert.truthy(hwm < 256 * 1024, "peak RSS " .. tostring(hwm) .. " kB")
    srv:stop()
  end)
end)
