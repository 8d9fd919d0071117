-- SSE from the simulator: live streams on create, replay with Last-Event-ID,
-- keep-alive comments, and the stream faults.
if _VERSION ~= "Lua 5.4" then return end

local mock = require "helpers.mock"
local json = require "exa_mock.json"
local cqueues = require "cqueues"
local socket = require "cqueues.socket"

local SSE = "Accept: text/event-stream"

-- Parse an SSE body into frames { id=, event=, data= } and a comment count.
local function parse(body, eol)
  eol = eol or "\n"
  local frames, comments, cur = {}, 0, {}
  local pat = eol == "\n" and "([^\n]*)\n" or (eol == "\r\n" and "([^\r]*)\r\n" or "([^\r]*)\r")
  for line in body:gmatch(pat) do
    if line == "" then
      if next(cur) then frames[#frames + 1] = cur end
      cur = {}
    elseif line:sub(1, 1) == ":" then
      comments = comments + 1
    else
      local k, v = line:match("^(%w+): ?(.*)$")
      cur[k] = k == "data" and json.decode(v) or v
    end
  end
  return frames, comments
end

describe("exa-agent-mock SSE", function()
  local srv
  setup(function() srv = mock.start { "--speed", "50", "--max-active", "50" } end)
  teardown(function() srv:stop() end)

  it("streams a run live on create and ends after the terminal event", function()
    local st, h, body = srv:api("POST", "/agent/runs", '{"query":"stream me"}', { headers = { SSE } })
    assert.equal(200, st)
    assert.truthy(h["content-type"]:find("text/event-stream", 1, true))
    assert.truthy(h["x-request-id"])
    local frames = parse(select(4, srv:api("POST", "/agent/runs", '{"query":"again"}', { headers = { SSE } })))
    assert.truthy(#frames >= 8)
    for i, f in ipairs(frames) do assert.equal(tostring(i), f.id) end
    assert.equal("agent_run.created", frames[1].event)
    assert.equal("queued", frames[1].data.status)
    assert.equal("agent_run.started", frames[2].event)
    assert.equal("agent_run.completed", frames[#frames].event)
    assert.equal("agent_run", frames[#frames].data.object)
    assert.equal("completed", frames[#frames].data.status)
    assert.is_nil(body)
  end)

  it("replays stored events after Last-Event-ID and closes", function()
    local _, _, run = srv:api("POST", "/agent/runs", '{"query":"replay"}')
    srv:wait_run(run.id)
    local _, _, _, all = srv:api("GET", "/agent/runs/" .. run.id .. "/events", nil, { headers = { SSE } })
    local frames = parse(all)
    local _, _, _, rest = srv:api("GET", "/agent/runs/" .. run.id .. "/events", nil,
      { headers = { SSE, "Last-Event-ID: 3" } })
    local tail = parse(rest)
    assert.equal(#frames - 3, #tail)
    assert.equal("4", tail[1].id)
    assert.equal(frames[#frames].event, tail[#tail].event)
    local st, _, b = srv:api("GET", "/agent/runs/" .. run.id .. "/events", nil, { headers = { SSE, "Last-Event-ID: x" } })
    assert.equal(400, st)
    assert.equal("INVALID_REQUEST", b.error.code)
  end)

  it("replay of a running run sends what is stored and does not follow it", function()
    local s2 = mock.start { "--speed", "1" }
    local _, _, run = s2:api("POST", "/agent/runs", '{"query":"slow"}')
    local t0 = os.time()
    local _, _, _, body = s2:api("GET", "/agent/runs/" .. run.id .. "/events", nil, { headers = { SSE } })
    assert.truthy(os.time() - t0 <= 1)
    local frames = parse(body)
    assert.truthy(#frames >= 1)
    assert.equal("agent_run.created", frames[1].event)
    s2:stop()
  end)

  it("sends : keep-alive comments on idle streams", function()
    local _, _, _, body = srv:api("POST", "/agent/runs", '{"query":"idle"}',
      { headers = { SSE, "X-Mock-Fault: run-seconds=30; keepalive-ms=20" } })
    local frames, comments = parse(body)
    assert.truthy(comments >= 3, "comments: " .. comments)
    assert.equal("agent_run.completed", frames[#frames].event)
    assert.truthy(body:find(": keep-alive\n\n", 1, true))
  end)

  it("close-after-events=N drops the connection after N events", function()
    local _, _, _, body = srv:api("POST", "/agent/runs", '{"query":"cut"}',
      { headers = { SSE, "X-Mock-Fault: close-after-events=3" } })
    local frames = parse(body)
    assert.equal(3, #frames)
    assert.equal("3", frames[3].id)
    -- the run goes on; a replay can resume after the last id seen
    local _, _, page = srv:api("GET", "/agent/runs?limit=1")
    local run = srv:wait_run(page.data[1].id)
    assert.equal("completed", run.status)
    local _, _, _, rest = srv:api("GET", "/agent/runs/" .. run.id .. "/events", nil,
      { headers = { SSE, "Last-Event-ID: 3", "X-Mock-Fault: close-after-events=2" } })
    local more = parse(rest)
    assert.equal(2, #more)
    assert.equal("4", more[1].id)
    assert.equal(0, srv:stats().open_streams)
  end)

  it("deleting an active run ends its live stream with agent_run.cancelled", function()
    local body = '{"query":"delete me while streaming"}'
    local text, id = "", nil
    local cq = cqueues.new()
    cq:wrap(function()
      local s = socket.connect { host = "127.0.0.1", port = srv.port }
      s:setmode("b", "b")
      s:write("POST /agent/runs HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\nExa-Beta: " .. mock.BETA .. "\r\n"
        .. SSE .. "\r\nContent-Type: application/json\r\nContent-Length: " .. #body .. "\r\n"
        .. "X-Mock-Fault: run-seconds=500\r\nConnection: close\r\n\r\n" .. body) -- 10 s at --speed 50
      s:flush()
      local deadline = cqueues.monotime() + 5
      while cqueues.monotime() < deadline do
        local chunk = s:xread(-4096, "b", deadline - cqueues.monotime())
        if not chunk then break end
        text = text .. chunk
        if not id then
          id = text:match('"id":"(agent_run_[%w]+)"')
          if id then assert.equal(200, (srv:api("DELETE", "/agent/runs/" .. id, nil, { key = "k" }))) end
        end
      end
      s:close()
    end)
    local t0 = cqueues.monotime()
    assert(cq:loop())
    assert.truthy(cqueues.monotime() - t0 < 4, "the stream did not end")
    assert.truthy(text:find("\r\n0\r\n\r\n$"), "no final chunk")
    local body, pos = {}, text:find("\r\n\r\n", 1, true) + 4
    while true do -- de-chunk
      local size, data = text:match("^(%x+)\r\n()", pos)
      size = tonumber(size, 16)
      if not size or size == 0 then break end
      body[#body + 1] = text:sub(data, data + size - 1)
      pos = data + size + 2
    end
    local frames = parse(table.concat(body))
    assert.equal("agent_run.cancelled", frames[#frames].event)
    assert.equal(404, (srv:api("GET", "/agent/runs/" .. id, nil, { key = "k" })))
    assert.equal(0, srv:stats().open_streams)
  end)

  it("a client resetting a live stream does not leave it counted as open", function()
    -- Read only the status line, let keep-alive comments pile up unread, then
    -- close: with unread bytes the kernel sends RST, and the server's next
    -- write fails with ECONNRESET (not EPIPE), mid-stream.
    local body = '{"query":"reset me"}'
    local cq = cqueues.new()
    cq:wrap(function()
      local s = socket.connect { host = "127.0.0.1", port = srv.port }
      s:setmode("b", "b")
      s:write("POST /agent/runs HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\nExa-Beta: " .. mock.BETA .. "\r\n"
        .. SSE .. "\r\nContent-Type: application/json\r\nContent-Length: " .. #body .. "\r\n"
        .. "X-Mock-Fault: run-seconds=50; keepalive-ms=5\r\n\r\n" .. body)
      s:flush()
      assert.truthy(s:xread("*l", "b", 5))
      cqueues.sleep(0.2)
      s:close()
    end)
    assert(cq:loop())
    local st
    for _ = 1, 60 do -- the run itself lasts 1 s; a leaked count never drops
      st = srv:stats()
      if st.open_streams == 0 then break end
      os.execute("sleep 0.05")
    end
    assert.equal(0, st.open_streams, json.encode(st))
  end)

  for _, eol in ipairs { "crlf", "cr" } do
    it("sse-eol=" .. eol .. " changes the line endings", function()
      local e = eol == "crlf" and "\r\n" or "\r"
      local _, _, _, body = srv:api("POST", "/agent/runs", '{"query":"eol"}',
        { headers = { SSE, "X-Mock-Fault: sse-eol=" .. eol } })
      if eol == "cr" then assert.is_nil(body:find("\n", 1, true)) end
      assert.truthy(body:find("id: 1" .. e .. "event: agent_run.created" .. e, 1, true))
      local frames = parse(body, e)
      assert.equal("agent_run.completed", frames[#frames].event)
    end)
  end

  it("drips and gzips a stream", function()
    local _, h, _, body = srv:api("POST", "/agent/runs", '{"query":"gz"}',
      { headers = { SSE, "X-Mock-Fault: gzip; drip" }, raw = { "--compressed" } })
    assert.equal("gzip", h["content-encoding"])
    local frames = parse(body)
    assert.equal("agent_run.completed", frames[#frames].event)
  end)
end)
