-- hostile_corpus_spec.lua - every hostile response of fuzz/hostile.lua (issue 7's
-- 34 and issue 13's cases aimed at the two HTTP/1 readers' drift) served by
-- spec/helpers/http_peer.lua and replayed through BOTH backends: the curl
-- backend in-process (exa.core's multi) and the ngx backend inside nginx
-- (location /hostile, spec/helpers/hostile_replay.lua, the same replay code).
-- Each case is replayed whole, and the small ones dripped (1 and 7 bytes per
-- write) so every CR/LF pair, line and chunk arrives split.
--
-- Per case the log shows both outcomes; the spec asserts, per backend, the
-- expected outcome (or one of the `also` outcomes RFC 9112 allows; the case's
-- `why` says which and why), an error kind on every error, and across the
-- two: the ngx path never accepts what the curl path refuses. Endless cases
-- (the peer never stops sending) must end in too_large or timeout having had
-- the peer write less than half of its 64 MiB cap (bytes, not wall time).
--
-- nginx runs LuaJIT, so the ngx half runs in the LuaJIT pass only (as the
-- ngx scenario specs do); the curl half runs under every Lua.
--
-- KNOWN lists the cases each backend still gets wrong (issue 13, until the
-- one C HTTP/1 reader of branch h1 lands). They are strict: a listed case that
-- passes fails the spec, so the list can only shrink.
local core = require "exa.core"
local cjson = require "cjson"
local replay = require "helpers.hostile_replay"
local scenarios = require "helpers.scenarios"
local nginx = require "helpers.nginx"

local ROOT = nginx.root .. "/"
local CORPUS = ROOT .. "fuzz/corpus/hostile/"
local CASES = dofile(ROOT .. "fuzz/hostile.lua")

-- Before branch h1 (the one C HTTP/1 reader) was merged, 18 cases failed on
-- curl and 50 on ngx (the commit that added this spec lists them); after it,
-- and after resp.c refused a NUL in the reason phrase and a folded framing
-- header as libcurl does, and an HTTP/2 status line on a plain-http (HTTP/1)
-- connection:
local KNOWN = {
  curl = {
  },
  ngx = {
  },
}

local HALF_CAP = 32 * 1024 * 1024

describe("the hostile corpus through both backends", function()
  local peer, srv, with_ngx, why_not
  local tally = { cases = 0, runs = 0, ngx_accepts_curl_refuses = {}, no_kind = {}, past_deadline = {},
    failed = { curl = {}, ngx = {} } }

  setup(function()
    peer = scenarios.start_peer()
    with_ngx, why_not = scenarios.runs_here()
    if with_ngx then
      srv = nginx.start { server = [[
    client_body_buffer_size 1m;
    location = /hostile {
      lua_socket_log_errors off;
      content_by_lua_block { require("helpers.hostile_replay").handle() }
    }
]] }
    end
  end)

  teardown(function()
    if srv then srv:stop() end
    scenarios.stop_peer(peer)
    local function list(t)
      local out = {}
      for _, k in ipairs(t) do out[#out + 1] = k end
      return #out .. (#out > 0 and (" (" .. table.concat(out, ", ") .. ")") or "")
    end
    io.stdout:write(("\nhostile corpus: %d cases, %d runs; ngx accepts what curl refuses: %s; errors without a kind: "
      .. "%s; past their deadline: %s; failing on curl: %s; failing on ngx: %s%s\n"):format(tally.cases, tally.runs,
      list(tally.ngx_accepts_curl_refuses), list(tally.no_kind), list(tally.past_deadline),
      list(tally.failed.curl), with_ngx and list(tally.failed.ngx) or "not run",
      with_ngx and "" or (" (ngx: " .. tostring(why_not) .. ")")))
  end)

  local function url(c, drip, key)
    return peer.url .. "/raw?" .. (drip and "drip=" .. drip .. "&" or "") ..
      (c.endless and ("endless=" .. c.endless .. "&key=" .. key .. "&") or "") .. "file=" .. CORPUS .. c.name .. ".http"
  end

  local function sent(key)
    local m = core.multi()
    local r = assert(m:request { method = "GET", url = peer.url .. "/sent?key=" .. key }:finish())
    m:close()
    return cjson.decode(r.body).sent
  end

  local function run_curl(c, u)
    local m = core.multi()
    local o = replay.outcome(function(req) return m:request(req) end, c, u)
    m:close()
    return o
  end

  local function run_ngx(c, u)
    local status, body = srv:request { method = "POST", path = "/hostile", timeout = 60,
      headers = { "Content-Type: application/json" }, body = cjson.encode { name = c.name, url = u } }
    local ok, o = pcall(cjson.decode, body)
    if status ~= 200 or not ok or type(o) ~= "table" then
      return { err = { message = ("nginx answered %d: %s %s"):format(status, tostring(body):sub(1, 200),
        srv:error_log():sub(-1500)) } }
    end
    if o.events == cjson.null then o.events = nil end
    return o
  end

  it("has its corpus on disk as fuzz/hostile.lua describes it, 116 cases or more", function()
    assert.is_true(#CASES >= 116, #CASES .. " cases")
    for _, c in ipairs(CASES) do
      local f = assert(io.open(CORPUS .. c.name .. ".http", "rb"), c.name)
      assert.equal(c.bytes, f:read("*a"), c.name .. ": run lua5.4 fuzz/hostile.lua fuzz/corpus/hostile")
      f:close()
      if c.also then assert.is_string(c.why, c.name .. " tolerates more than one outcome: say why") end
    end
    for backend, known in pairs(KNOWN) do
      for name in pairs(known) do
        local found = false
        for _, c in ipairs(CASES) do found = found or c.name == name end
        assert.is_true(found, backend .. ": KNOWN names no case " .. name)
      end
    end
  end)

  local function each(c, drip)
    local label = c.name .. (drip and (" (" .. drip .. " bytes per write)") or "")
    it(label, function()
      tally.runs = tally.runs + 1
      if not drip then tally.cases = tally.cases + 1 end
      local runs, problems = {}, {}
      local function one(backend, fn)
        local key = backend .. "-" .. c.name .. "-" .. tostring(drip)
        local o = fn(c, url(c, drip, key))
        runs[backend] = o
        local fine, why = replay.check(c, o, backend)
        if backend == "ngx" and runs.curl.err and not o.err then
          -- RFC 9112 may allow both answers, but the two backends must not split this way
          fine, why = false, "ngx accepts what curl refuses (" .. replay.describe(runs.curl) .. ")"
          tally.ngx_accepts_curl_refuses[#tally.ngx_accepts_curl_refuses + 1] = label
        end
        if o.err and not o.err.kind then
          fine, why = false, "an error without a kind: " .. tostring(o.err.message)
          tally.no_kind[#tally.no_kind + 1] = backend .. ":" .. label
        end
        if c.endless then -- the case's expect says which error (too_large for heads and trailers)
          local n = sent(key)
          if not o.err or n >= HALF_CAP then
            fine, why = false, ("endless: %s after the peer wrote %d bytes"):format(replay.describe(o), n)
            tally.past_deadline[#tally.past_deadline + 1] = backend .. ":" .. label
          end
        end
        if not fine then tally.failed[backend][#tally.failed[backend] + 1] = label end
        local known = KNOWN[backend][c.name]
        if known and fine then
          problems[#problems + 1] = backend .. ": listed in KNOWN but passes now: take it off the list"
        elseif not known and not fine then
          problems[#problems + 1] = backend .. ": " .. tostring(why)
        end
      end
      one("curl", run_curl)
      if with_ngx then one("ngx", run_ngx) end
      io.stdout:write(("\n  %-44s curl: %s | ngx: %s"):format(label, replay.describe(runs.curl),
        with_ngx and replay.describe(runs.ngx) or "not run"))
      assert.equal(0, #problems, table.concat(problems, "\n"))
    end)
  end

  for _, c in ipairs(CASES) do
    each(c)
    if not c.endless then
      if #c.bytes <= 400 then each(c, 1) end
      if #c.bytes <= 4000 then each(c, 7) end
    end
  end
end)
