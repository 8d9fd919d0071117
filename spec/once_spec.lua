-- once_spec.lua - a create rides pooled and multiplexed connections and is
-- still never sent twice by the transport (issue 14). A Node peer
-- (spec/helpers/once_peer.js) makes the run and then misbehaves: HTTP/1.1
-- keep-alive connections closed (FIN) or reset (RST) before or after the
-- body; HTTP/2 GOAWAY, RST_STREAM REFUSED_STREAM, the connection dropped.
-- libcurl 7.88 would send such a create again by itself (Curl_retry_request);
-- its body cannot be rewound (src/driver.c on_seek), so the retry policy
-- decides through the create marker. Each create makes exactly one run,
-- counted on the peer, and the client answers with that run. Counts only.
-- The HTTP/1.1 keep-alive cases run through both backends (the curl one
-- here, the ngx one inside nginx): spec/scenarios/once.lua, at the end.
local exa = require "exa"
local cjson = require "cjson"
local core = require "exa.core"
local tls_peer = require "helpers.tls_peer"

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"

describe("a create is sent once over pooled connections", function()
  local tls, pipe, pid, ports
  local n = 0

  setup(function()
    tls = tls_peer.certificate()
    pipe = assert(io.popen("echo $$; exec node " .. here .. "helpers/once_peer.js " .. tls.cert .. " " .. tls.key))
    pid = assert(tonumber(pipe:read("*l")), "peer pid")
    ports = {}
    for _ = 1, 2 do
      local proto, port = assert(pipe:read("*l"), "peer ports"):match("^(%w+) (%d+)$")
      ports[proto] = tonumber(port)
    end
  end)

  teardown(function()
    if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
    if pipe then pipe:close() end
    if tls then os.execute("rm -rf " .. tls.dir) end
  end)

  local function client(proto, fault, loop)
    n = n + 1
    local key = proto .. "-" .. fault .. "-" .. n
    local base = proto == "h2" and ("https://localhost:%d"):format(ports.h2)
      or ("http://127.0.0.1:%d"):format(ports.h1)
    local c = exa.new{ api_key = "sk-once", base_url = base, ca_file = tls.cert, retry_base_delay = 0.01,
      headers = { ["X-Key"] = key, ["X-Fault"] = fault }, loop = loop }
    local function stats()
      local m = core.multi()
      local r = assert(m:request{ method = "GET", url = base .. "/stats", headers = { "X-Key: " .. key },
        ca_file = tls.cert }:finish())
      m:close()
      return cjson.decode(r.body)
    end
    return c, stats
  end

  -- warm a pooled connection (a list), create, and count on the peer
  local function create_once(proto, fault)
    local c, stats = client(proto, fault)
    c.runs:list()
    local run = c.runs:create{ query = "once " .. fault }
    local s = stats()
    c:close()
    assert.equals(1, s.runs, fault .. ": exactly one run")
    assert.equals("once " .. fault, run.request.query)
    assert.equals(s.run_ids[1], run.id, fault .. ": the client answers with that run")
    return run, s
  end

  local H2 = { "goaway-after", "refused-after", "drop-after", "refused-before", "goaway-before" }
  for _, fault in ipairs(H2) do
    it("HTTP/2, " .. fault, function()
      local _, s = create_once("h2", fault)
      assert.equals(s.list_conns[1], s.create_conns[1], "the create was multiplexed on the pooled connection")
    end)
  end

  it("HTTP/2: 50 concurrent creates share the pooled connection, each made once", function()
    local loop = exa.loop()
    local c, stats = client("h2", "none", loop)
    c.runs:list()
    local ids = {}
    for i = 1, 50 do
      loop:spawn(function() ids[i] = c.runs:create{ query = "many " .. i }.id end)
    end
    loop:run()
    c:close()
    local s = stats()
    assert.equals(50, s.runs)
    local seen = {}
    for i = 1, 50 do
      assert.is_string(ids[i])
      assert.is_nil(seen[ids[i]])
      seen[ids[i]] = true
    end
    for i = 1, 50 do assert.equals(s.list_conns[1], s.create_conns[i], "create " .. i .. " on another connection") end
  end)
end)

require("helpers.scenarios").define("once",
  { describe = describe, it = it, setup = setup, teardown = teardown, pending = pending })
