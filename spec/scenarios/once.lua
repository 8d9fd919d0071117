-- A create rides a pooled keep-alive connection and is still sent at most
-- once by the transport, through both backends (helpers/scenarios.lua;
-- spec/once_spec.lua runs it, with the HTTP/2 cases of the curl backend).
-- The Node peer spec/helpers/once_peer.js makes the run and misbehaves on
-- HTTP/1.1: the warmed connection closed (FIN) or reset (RST) before the
-- create, or while it carries the create (before or after reading its
-- body, unanswered). Both backends would send such a create again by
-- themselves (libcurl's Curl_retry_request, the ngx backend's stale-
-- connection retry); with `once` the attempt fails instead (curl: code 65,
-- ngx: code once_not_resent) and the retry policy resolves it through the
-- create marker. Counted on the peer: one run per create, the client
-- answers with it. Counts only, no timings.
local assert = require "luassert"

local T = {}
local function test(name, fn, opts) T[#T + 1] = { name, fn, opts } end

local n = 0
local function client(ctx, fault)
  n = n + 1
  -- a key per client (inside nginx this file is loaded per test: n alone
  -- does not tell keys apart)
  local key = ctx.backend_name .. "-" .. fault .. "-" .. n .. "-" .. math.random(1e9)
  local base = "http://127.0.0.1:" .. ctx.data.once_h1
  local rec = { retries = {} }
  local c = ctx.client{ api_key = "sk-once", base_url = base, retry_base_delay = 0.01,
    headers = { ["X-Key"] = key, ["X-Fault"] = fault },
    on_retry = function(e) rec.retries[#rec.retries + 1] = e end }
  local function stats()
    return assert(ctx.json.decode(ctx.fetch(base .. "/stats", { headers = { "X-Key: " .. key } }).body))
  end
  return c, stats, rec
end

-- warm a pooled connection (a list), create, and count on the peer
local function create_once(ctx, fault)
  local c, stats, rec = client(ctx, fault)
  c.runs:list()
  local run = c.runs:create{ query = "once " .. fault }
  local s = stats()
  assert.equals(1, s.runs, fault .. ": exactly one run " .. ctx.json.encode(s))
  assert.equals("once " .. fault, run.request.query)
  assert.equals(s.run_ids[1], run.id, fault .. ": the client answers with that run")
  return run, s, rec
end

-- The create rode the warmed connection, which then died under it: the
-- attempt failed without a re-send (the backend's own code), the marker decided.
-- body_maybe_unsent: the peer dropped the connection after the head, and
-- libcurl (which writes the head and the body apart) may have sent no body
-- byte yet; then it may send the request again by itself, the body going
-- out for the first time, and no attempt fails. The ngx backend writes head
-- and body in one send: its attempt must fail.
local function rode_and_failed(ctx, s, rec, fault, body_maybe_unsent)
  assert.equals(s.list_conns[1], s.create_conns[1], fault .. ": the create rode the pooled connection "
    .. ctx.json.encode(s))
  if body_maybe_unsent and ctx.backend_name == "curl" and not rec.retries[1] then return end
  local e = assert(rec.retries[1], fault .. ": the first attempt failed")
  assert.equals("transport", e.kind, e.message)
  if ctx.backend_name == "curl" then
    assert.equals(65, e.curl_code, e.message)
  else
    assert.equals("once_not_resent", e.transport_code, e.message)
  end
end

for _, fault in ipairs { "fin-after", "rst-after" } do
  test("HTTP/1.1 keep-alive, " .. fault .. ": the peer reads the create on the pooled connection, "
    .. "makes the run and closes unanswered: the marker finds it, never sent twice", function(ctx)
    local _, s, rec = create_once(ctx, fault)
    rode_and_failed(ctx, s, rec, fault)
    assert.equals(1, s.creates, fault .. ": one create reached the peer " .. ctx.json.encode(s))
  end)
end

for _, fault in ipairs { "fin-before", "rst-before" } do
  test("HTTP/1.1 keep-alive, " .. fault .. ": the pooled connection dies under the create before "
    .. "its body is read: no run by marker, sent once more, one run", function(ctx)
    local _, s, rec = create_once(ctx, fault)
    rode_and_failed(ctx, s, rec, fault, true)
    -- the second create request is the retry policy's, after the lookup found no run
    -- (or curl's own, when no body byte had gone out)
    assert.equals(2, s.creates, fault .. ": " .. ctx.json.encode(s))
  end)
end

for _, fault in ipairs { "list-fin", "list-rst" } do
  test("HTTP/1.1 keep-alive, " .. fault .. ": the warmed connection is closed before the create: "
    .. "one run", function(ctx)
    create_once(ctx, fault)
  end)
end

test("HTTP/1.1 keep-alive: a create on a live pooled connection rides it, and the next request "
  .. "rides it too", function(ctx)
  local c, stats = client(ctx, "none")
  c.runs:list()
  local run = c.runs:create{ query = "alive" }
  c.runs:list()
  local s = stats()
  assert.equals(1, s.runs)
  assert.equals(s.run_ids[1], run.id)
  assert.equals(s.list_conns[1], s.create_conns[1], ctx.json.encode(s))
  assert.equals(s.list_conns[1], s.list_conns[2], ctx.json.encode(s))
end)

return {
  before = function(env) -- busted side: the Node peer, h1 and h2 (its TLS needs a certificate)
    local tls_peer = require "helpers.tls_peer"
    local root = require("helpers.nginx").root
    env.once_tls = tls_peer.certificate()
    env.once_pipe = assert(io.popen("echo $$; exec node " .. root .. "/spec/helpers/once_peer.js "
      .. env.once_tls.cert .. " " .. env.once_tls.key))
    env.once_pid = assert(tonumber(env.once_pipe:read("*l")), "once_peer pid")
    for _ = 1, 2 do
      local proto, port = assert(env.once_pipe:read("*l"), "once_peer ports"):match("^(%w+) (%d+)$")
      if proto == "h1" then env.ctx.once_h1 = tonumber(port) end
    end
    assert(env.ctx.once_h1, "once_peer h1 port")
  end,
  after = function(env)
    if env.once_pid then os.execute("kill " .. env.once_pid .. " 2>/dev/null") end
    if env.once_pipe then env.once_pipe:close() end
    if env.once_tls then os.execute("rm -rf " .. env.once_tls.dir) end
  end,
  tests = T,
}
