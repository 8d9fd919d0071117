-- Bytes on the wire: a one-file capture peer (lua5.4 + cqueues, as the
-- simulator uses) answers every request with what it received.
local exa = require "exa"
local json = require "exa.wire.json"
local api = require "exa.api"

local PEER = [[
local cqueues = require "cqueues"
local socket = require "cqueues.socket"
local cjson = require "cjson"
local srv = assert(socket.listen{ host = "127.0.0.1", port = 0 })
assert(srv:listen())
local _, _, port = srv:localname()
io.stdout:write(port, "\n"); io.stdout:flush()
local cq = cqueues.new()
cq:wrap(function()
  for c in srv:clients() do
    cq:wrap(function()
      c:setmode("b", "b")
      while true do
        local line = c:read("*l")
        if not line then break end
        local method, path = line:match("^(%S+) (%S+)")
        local headers, order, len = {}, {}, 0
        while true do
          local h = c:read("*l")
          if not h or h == "" or h == "\r" then break end
          local k, v = h:match("^([^:]+):%s*(.-)\r?$")
          if k then
            headers[k:lower()] = v
            order[#order + 1] = k:lower()
            if k:lower() == "content-length" then len = tonumber(v) end
          end
        end
        local body = len > 0 and c:read(len) or ""
        local echo = cjson.encode{ method = method, path = path, headers = headers, order = order, body = body }
        local paging = headers["x-page"]
        if paging then
          -- a list page that never ends: the same cursor again, or none at all
          local page = { object = "list", data = { { id = "agent_run_a" } }, hasMore = true,
            nextCursor = paging == "loop" and "cur_1" or cjson.null }
          local b = cjson.encode(page)
          c:write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " .. #b .. "\r\n\r\n" .. b)
        elseif path:find("raw", 1, true) then
          local s = ": keep-alive\nid: 1\nevent: agent_run.brand_new\ndata: plain text, not JSON\n\n"
            .. "id: 2\nevent: agent_run.completed\ndata: {\"status\":\"completed\",\"n\":null}\n\n"
          c:write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: " .. #s .. "\r\n\r\n" .. s)
        elseif (headers["accept"] or ""):find("text/event-stream", 1, true) then
          local s = "id: 1\nevent: agent_run.completed\ndata: " .. echo .. "\n\n"
          local ctype = headers["x-reply-content-type"] or "text/event-stream" -- a look-alike, on request
          local twice = headers["x-reply-content-type-twice"] -- a second Content-Type header
          c:write("HTTP/1.1 200 OK\r\nContent-Type: " .. ctype .. "\r\n"
            .. (twice and ("Content-Type: " .. twice .. "\r\n") or "")
            .. "Content-Length: " .. #s .. "\r\n\r\n" .. s)
        else
          c:write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " .. #echo .. "\r\n\r\n" .. echo)
        end
        c:flush()
      end
      c:close()
    end)
  end
end)
local deadline = os.time() + 120
while os.time() < deadline do assert(cq:step(1)) end
]]

describe("on the wire", function()
  local pipe, url, pidfile
  setup(function()
    local f = os.tmpname()
    local fh = assert(io.open(f, "w"))
    fh:write(PEER)
    fh:close()
    pidfile = os.tmpname()
    pipe = assert(io.popen("unset LUA_PATH LUA_CPATH; echo $$ > " .. pidfile .. "; exec lua5.4 " .. f))
    url = "http://127.0.0.1:" .. assert(pipe:read("*l"))
  end)
  teardown(function()
    local pid = assert(io.open(pidfile)):read("*l")
    os.execute("kill " .. pid .. " 2>/dev/null")
    pipe:close()
  end)

  local KEY = "sk-wire-key"

  it("sends the documented headers on a GET", function()
    local c = exa.new{ api_key = KEY, base_url = url }
    local e = c.runs:get("agent_run_1")
    assert.equals("GET", e.method)
    assert.equals("/agent/runs/agent_run_1", e.path)
    assert.equals(KEY, e.headers["x-api-key"])
    assert.is_nil(e.headers["authorization"])
    assert.equals("agent-2026-05-07", e.headers["exa-beta"])
    assert.equals("application/json", e.headers["accept"])
    assert.is_nil(e.headers["content-type"])
    local lua = jit and "LuaJIT" or _VERSION:gsub("%.", "%%.")
    assert.matches("^exa%-lua/" .. exa.VERSION:gsub("%.", "%%.") .. " %(" .. lua .. ".*; libcurl/[%d.]+%)$",
      e.headers["user-agent"])
    assert.equals(c:user_agent(), e.headers["user-agent"])
  end)

  it("sends the JSON body with [] in array positions, Content-Type, and no Expect", function()
    local c = exa.new{ api_key = KEY, base_url = url, betas = { "a-beta", "agent-2026-05-07" }, auth = "bearer" }
    local p = { query = "q", input = { data = {} }, metadata = {}, effort = "max",
      outputSchema = { type = "object", required = {}, properties = {} }, brandNew = json.null }
    local e = c.runs:create(p)
    assert.equals("POST", e.method)
    assert.equals("/agent/runs", e.path)
    assert.equals("application/json", e.headers["content-type"])
    assert.is_nil(e.headers["expect"])
    assert.equals("Bearer " .. KEY, e.headers["authorization"])
    assert.is_nil(e.headers["x-api-key"])
    assert.equals("a-beta,agent-2026-05-07", e.headers["exa-beta"])
    assert.matches('"data":%[%]', e.body)
    -- metadata = {} arrives as {} but for the create marker (exactly-once create)
    assert.matches('"metadata":{"exa_client_request_id":"%x+"}', e.body)
    assert.matches('"required":%[%]', e.body)
    assert.matches('"properties":{}', e.body)
    assert.matches('"brandNew":null', e.body)
    assert.matches('"effort":"max"', e.body)
    -- the caller's table is untouched
    assert.is_nil(getmetatable(p.input.data))
  end)

  it("sends no Exa-Beta when betas is empty; headers and per-call headers override", function()
    local c = exa.new{ api_key = KEY, base_url = url, betas = {}, headers = { ["X-Trace"] = "t1" } }
    local e = c.runs:list({ limit = 5, cursor = "agent_run_9" }, { headers = { ["X-Trace"] = "t2", ["X-Call"] = "c" } })
    assert.is_nil(e.headers["exa-beta"])
    assert.equals("t2", e.headers["x-trace"])
    assert.equals("c", e.headers["x-call"])
    assert.equals("/agent/runs?cursor=agent_run_9&limit=5", e.path)
  end)

  it("false (or exa.null) removes a header: a client header removes a default, a per-call one a client's", function()
    local c = exa.new{ api_key = KEY, base_url = url, headers = { ["user-agent"] = false, ["X-Trace"] = "t1",
      ["Exa-Beta"] = exa.null } }
    local e = c.runs:get("agent_run_1")
    assert.is_nil(e.headers["user-agent"])
    assert.is_nil(e.headers["exa-beta"])
    assert.equals("t1", e.headers["x-trace"])
    e = c.runs:get("agent_run_1", { headers = { ["x-trace"] = false, Accept = "application/x-custom" } })
    assert.is_nil(e.headers["x-trace"])
    assert.equals("application/x-custom", e.headers["accept"]) -- names match case-insensitively
    assert.equals(KEY, e.headers["x-api-key"])
  end)

  it("iter raises a protocol error when pages loop or hasMore comes without a cursor", function()
    for mode, pattern in pairs{ loop = "cur_1 came twice", nocursor = "no nextCursor" } do
      local c = exa.new{ api_key = KEY, base_url = url, headers = { ["X-Page"] = mode } }
      local n = 0
      local ok, e = pcall(function()
        for _ in c.runs:iter() do
          n = n + 1
          if n > 10 then break end -- a missed loop must fail here, not hang
        end
      end)
      assert.is_false(ok, mode)
      assert.is_true(exa.is_error(e, "protocol"), tostring(e))
      assert.matches(pattern, e.message, 1, true)
      assert.equals(mode == "loop" and 2 or 1, n, mode) -- every item it did get was delivered first
    end
  end)

  it("takes an event stream's content type as the media type alone, as the C core does", function()
    -- a look-alike is a protocol error naming it, not a stream the core then refuses to frame
    local c = exa.new{ api_key = KEY, base_url = url }
    -- (one header holding a list: the core reads one media type there, and the client asks the core)
    for _, ct in ipairs{ "text/event-streamx", "application/json; profile=text/event-stream", "text/event-stream2",
      "text/event-stream, text/plain" } do
      local ok, e = pcall(function()
        for _ in c.runs:stream({ query = "q" }, { headers = { ["X-Reply-Content-Type"] = ct } }) do end
      end)
      assert.is_false(ok, ct)
      assert.is_true(exa.is_error(e, "protocol"), ct .. ": " .. tostring(e))
      assert.matches(ct, e.message, 1, true)
    end
    for _, ct in ipairs{ "TEXT/Event-Stream", "text/event-stream ; charset=utf-8", "text/event-stream;charset=utf-8" } do
      local n = 0
      for _ in c.runs:stream({ query = "q" }, { headers = { ["X-Reply-Content-Type"] = ct } }) do n = n + 1 end
      assert.equals(1, n, ct)
    end
    -- a repeated header: the first one counts, as the core frames by it
    for first, second in pairs{ ["text/event-stream"] = "text/event-stream", ["text/event-stream;x=1"] = "text/html" } do
      local n = 0
      for _ in c.runs:stream({ query = "q" }, { headers = { ["X-Reply-Content-Type"] = first,
        ["X-Reply-Content-Type-Twice"] = second } }) do n = n + 1 end
      assert.equals(1, n, first .. " then " .. second)
    end
    local ok, e = pcall(function()
      for _ in c.runs:stream({ query = "q" }, { headers = { ["X-Reply-Content-Type"] = "text/html",
        ["X-Reply-Content-Type-Twice"] = "text/event-stream" } }) do end
    end)
    assert.is_false(ok)
    assert.is_true(exa.is_error(e, "protocol"), tostring(e))
    assert.is_true(api.is_event_stream("text/event-stream, text/event-stream"))
    assert.is_true(api.is_event_stream(" text/event-stream\t; charset=utf-8"))
    assert.is_false(api.is_event_stream(nil))
  end)

  it("passes unknown event names through and gives non-JSON data as a string", function()
    local c = exa.new{ api_key = KEY, base_url = url }
    local evs = {}
    for ev in c.runs:replay("agent_run_raw") do evs[#evs + 1] = ev end
    assert.equals(2, #evs)
    assert.same({ id = "1", event = "agent_run.brand_new", data = "plain text, not JSON" }, evs[1])
    assert.equals("completed", evs[2].data.status)
    assert.equals(exa.null, evs[2].data.n)
  end)

  it("stream posts with Accept: text/event-stream; replay sends Last-Event-ID", function()
    local c = exa.new{ api_key = KEY, base_url = url }
    local evs = {}
    for ev in c.runs:stream{ query = "q" } do evs[#evs + 1] = ev end
    assert.equals(1, #evs)
    local e = evs[1].data
    assert.equals("POST", e.method)
    assert.equals("text/event-stream", e.headers["accept"])
    assert.equals("application/json", e.headers["content-type"])
    evs = {}
    for ev in c.runs:replay("agent_run_1", { last_event_id = 7 }) do evs[#evs + 1] = ev end
    e = evs[1].data
    assert.equals("GET", e.method)
    assert.equals("/agent/runs/agent_run_1/events", e.path)
    assert.equals("7", e.headers["last-event-id"])
    assert.equals("text/event-stream", e.headers["accept"])
  end)
end)

-- ca_file reaches the TLS layer: against a self-signed peer, exa.new without
-- it fails verification, with it the handshake passes and the request gets
-- as far as the (non-JSON) response.
describe("ca_file", function()
  local tls_peer = require "helpers.tls_peer"
  local have_openssl = tls_peer.available()
  local peer

  setup(function() peer = tls_peer.start() end)
  teardown(function() if peer then peer:stop() end end)

  it("is passed to the TLS layer", function()
    if not have_openssl then return pending("no openssl command") end
    local base = "https://localhost:" .. peer.port
    local function fails(o)
      o.api_key, o.base_url, o.max_retries = "sk-tls", base, 0
      local c = exa.new(o)
      local ok, e = pcall(c.runs.list, c.runs)
      c:close()
      assert.is_false(ok)
      return e
    end
    assert.equals("tls", fails{}.kind)
    assert.equals("tls", fails{ ca_file = peer.dir .. "/missing.pem" }.kind)
    local e = fails{ ca_file = peer.cert }
    assert.equals("protocol", e.kind, tostring(e)) -- s_server's HTML status page, over verified TLS
    assert.equals(200, e.status)
  end)
end)
