-- http_trust_spec.lua - exa.core against hostile and broken servers (issue 7):
-- no crash whatever the bytes, no request sent twice when the caller says so,
-- bounded heads, timeouts that mean what they say. Every hostile response of
-- fuzz/hostile.lua is replayed through both backends by hostile_corpus_spec.lua.
-- The peer is spec/helpers/http_peer.lua on loopback; /raw serves a file verbatim.
local core = require "exa.core"
local cjson = require "cjson"
local peer_proc = require "helpers.peer_proc"

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local ROOT = here:gsub("spec/$", "")
if ROOT == "" or ROOT == "./" then ROOT = "./" end

local function abspath(p)
  if p:sub(1, 1) == "/" then return p end
  local pwd = os.getenv("PWD") or io.popen("pwd"):read("*l")
  return pwd .. "/" .. p:gsub("^%./", "")
end

local CORPUS = abspath(ROOT .. "fuzz/corpus/hostile/")

local function lua_cmd()
  local tag = os.getenv("EXA_TEST_LUA_TAG") or "5.4"
  return tag == "jit" and "luajit" or ("lua" .. tag)
end

local start_peer, stop_peer = peer_proc.start, peer_proc.stop

-- Run a Lua script in a child process (a crash must not take the suite with
-- it); returns what it wrote to stdout.
local function run_child(src, ...)
  local script = os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(src)
  f:close()
  local args = {}
  for i, a in ipairs { ... } do args[i] = "'" .. a .. "'" end
  local p = io.popen(lua_cmd() .. " " .. script .. " " .. table.concat(args, " ") .. " 2>&1")
  local out = p:read("*a")
  p:close()
  os.remove(script)
  return out
end

describe("exa.core against hostile servers", function()
  local peer, base

  setup(function()
    peer = start_peer()
    base = peer.base
  end)

  teardown(function() stop_peer(peer) end)

  local function raw(name, keep, drip)
    return base .. "/raw?" .. (keep and "keep=1&" or "") .. (drip and "drip=" .. drip .. "&" or "") ..
      "file=" .. CORPUS .. name .. ".http"
  end

  it("survives a folded first header line after a normal response on the same connection", function()
    -- libcurl 7.88 kept a stale header pointer across curl_easy_reset: with
    -- pooled easy handles this sequence was a double free (SIGABRT/SIGSEGV)
    local out = run_child([[
      local core = require "exa.core"
      local base, url = ...
      local m = core.multi()
      for round = 1, 3 do
        assert(m:request { method = "GET", url = base .. "/json" }:finish())
        local t = m:request { method = "GET", url = url }
        local r, err = t:finish()
        io.write(round, " ", t:info().num_connects, " ", r and "response" or err.kind .. " " .. err.message, "\n")
        t:close()
      end
      io.write("survived\n")
    ]], base, raw("folded-first", true))
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal("survived", lines[4], out)
    for round = 1, 3 do
      -- "0": the folded response came on the connection the /json just used
      assert.matches("^" .. round .. " 0 transport malformed response head", lines[round])
    end
  end)

  it("once: a body whose pooled connection dies is not sent again; without once libcurl re-sends it", function()
    local function try(once, key)
      local m = core.multi()
      assert(m:request { method = "GET", url = base .. "/json" }:finish()) -- a pooled connection
      local t = m:request { method = "POST", url = base .. "/die?key=" .. key, body = "{}", once = once }
      local r, err = t:finish()
      local hits = cjson.decode(assert(m:request { method = "GET", url = base .. "/hits?key=" .. key }:finish()).body)
      local connects = t:info().num_connects
      m:close()
      return r, err, hits.hits, connects
    end
    local r, err, hits, connects = try(true, "once")
    assert.is_nil(r)
    assert.equal("transport", err.kind)
    assert.equal(65, err.code) -- CURLE_SEND_FAIL_REWIND: libcurl wanted to send it again
    assert.matches("not sent again", err.message)
    assert.equal(1, connects) -- libcurl opened its new connection, then asked to rewind: refused before a byte
    assert.equal(1, hits) -- sent exactly once
    r, err, hits = try(false, "again")
    assert.is_nil(r)
    assert.equal(52, err.code)
    assert.equal(2, hits) -- the contrast: libcurl sent it again on a new connection by itself
    assert.has_error(function() core.multi():request { method = "GET", url = base, once = 1 } end,
      "request: spec.once must be a boolean")
  end)

  describe("bounds", function()
    it("a head over 256 KiB is too_large, whether one line, many lines or a 1xx storm", function()
      local m = core.multi()
      for _, name in ipairs { "huge-header-line", "huge-head-lines", "interim-storm" } do
        local r, err = m:request { method = "GET", url = raw(name), fresh_connect = true }:finish()
        assert.is_nil(r)
        assert.equal("too_large", err.kind, name .. ": " .. err.message)
      end
      m:close()
    end)
  end)

  describe("timeouts", function()
    it("a sub-millisecond timeout is 1 ms, never curl's 0 = no timeout", function()
      local m = core.multi()
      local t = m:request { method = "GET", url = base .. "/hang", timeout = 0.4 }
      local r, err = t:finish(5000)
      assert.is_nil(r, "the transfer was still running: the timeout was lost") -- false would mean it hung
      assert.equal("timeout", err.kind)
      assert.equal(28, err.code)
      m:close()
    end)

    it("raises on NaN and infinite durations (programmer errors)", function()
      local m = core.multi()
      for _, k in ipairs { "timeout", "connect_timeout", "idle_timeout" } do
        for _, v in ipairs { 0 / 0, 1 / 0, -1 / 0 } do
          assert.has_error(function() m:request { method = "GET", url = base, [k] = v } end,
            "request: spec." .. k .. " must be a number from 0 to 2e9")
        end
      end
      assert.has_error(function() m:request { method = "GET", url = base .. "/json" }:headers(0 / 0) end)
      m:close()
    end)
  end)
end)
