-- Transport details of issue 7, item 6: a tiny timeout is refused or is a
-- timeout, never "no timeout"; a user's X-Api-Key header replaces the client's (one header
-- on the wire) and is scrubbed from errors like the key; retry jitter is
-- seeded so that processes started in the same second do not retry in
-- lockstep. Against the raw peer of spec/helpers/api_peer_server.lua, which
-- records the bytes of every request.
local exa = require "exa"
local peer = require "helpers.api_peer"
local mock = require "helpers.mock"

describe("transport trust", function()
  local p
  local serial = 0
  setup(function() p = peer.start(120) end)
  teardown(function() p:stop() end)

  local RUN = "agent_run_transport"

  local function key_session(plan)
    serial = serial + 1
    local key = "sk-transport-" .. serial .. "-secret"
    p:session{ key = key, n = 3, runs = { { n = 3, id = RUN } }, plan = plan }
    return key
  end

  local function shows(e, secret)
    if tostring(e):find(secret, 1, true) then return true end
    local seen = {}
    local function walk(t)
      if seen[t] then return false end
      seen[t] = true
      for _, v in pairs(t) do
        if type(v) == "string" and v:find(secret, 1, true) then return true end
        if type(v) == "table" and walk(v) then return true end
      end
      return false
    end
    return walk(e)
  end

  describe("tiny timeouts", function()
    -- The peer holds a request 3 s and then closes it unanswered: a client
    -- whose timeout became "none" (0 ms for libcurl) ends with a transport
    -- error after 3 s, not with a timeout.
    it("0.0004 s (under curl's 1 ms) is refused before any request, never sent as 'no timeout'", function()
      local key = key_session{ get = { { hang = 3 } } }
      local ok, e = pcall(exa.new, { api_key = key, base_url = p.url, timeout = 0.0004 })
      assert.is_false(ok)
      assert.is_true(exa.is_error(e, "validation"), tostring(e))
      local c = exa.new{ api_key = key, base_url = p.url, max_retries = 0 }
      ok, e = pcall(c.runs.get, c.runs, RUN, { timeout = 0.0004 })
      assert.is_false(ok)
      assert.is_true(exa.is_error(e, "validation"), tostring(e))
      assert.equals(0, #p:log(key).requests)
    end)

    it("the smallest timeout allowed (1 ms, client option) times out with an error object", function()
      local key = key_session{ get = { { hang = 3 } } }
      local c = exa.new{ api_key = key, base_url = p.url, timeout = 0.001, max_retries = 0 }
      local ok, e = pcall(c.runs.get, c.runs, RUN)
      assert.is_false(ok)
      assert.is_true(exa.is_error(e, "timeout"), tostring(e))
      assert.equals(1, e.attempts)
    end)

    it("a per-call timeout of 1.5 ms times out with an error object", function()
      local key = key_session{ get = { { hang = 3 } } }
      local c = exa.new{ api_key = key, base_url = p.url, max_retries = 0 }
      local ok, e = pcall(c.runs.get, c.runs, RUN, { timeout = 0.0015 })
      assert.is_false(ok)
      assert.is_true(exa.is_error(e, "timeout"), tostring(e))
    end)
  end)

  describe("an X-Api-Key header given by the user", function()
    local function key_lines(key)
      local out = {}
      for _, r in ipairs(p:log(key).requests) do
        out[#out + 1] = table.concat(peer.header_values(r, "x-api-key"), " | ")
      end
      return out
    end

    it("as a client header is the one x-api-key header sent", function()
      local key = key_session()
      for _, name in ipairs{ "X-Api-Key", "x-api-key", "X-API-KEY" } do
        local c = exa.new{ api_key = "sk-client-key-unused", base_url = p.url, headers = { [name] = key } }
        assert.equals(RUN, c.runs:get(RUN).id)
        for _ in c.runs:replay(RUN) do end
      end
      local lines = key_lines(key)
      assert.equals(6, #lines)
      for _, l in ipairs(lines) do assert.equals(key, l) end
    end)

    it("as a per-call header is the one x-api-key header sent", function()
      local key = key_session()
      local c = exa.new{ api_key = "sk-client-key-unused", base_url = p.url }
      assert.equals(RUN, c.runs:get(RUN, { headers = { ["X-Api-Key"] = key } }).id)
      assert.same({ key }, key_lines(key))
    end)

    it("is never shown by an error, even when the server quotes it", function()
      -- the peer answers an unknown key with 401 "invalid API key <the key it got>"
      local other = "sk-other-" .. os.time() .. "-header-secret"
      local c = exa.new{ api_key = "sk-client-secret-1", base_url = p.url, max_retries = 0,
        headers = { ["X-Api-Key"] = other } }
      local ok, e = pcall(c.runs.get, c.runs, RUN)
      assert.is_false(ok)
      assert.is_true(exa.is_error(e, "authentication"), tostring(e))
      assert.matches("REDACTED", e.message)
      assert.is_false(shows(e, other), tostring(e))
      local percall = "sk-percall-" .. os.time() .. "-secret"
      local c2 = exa.new{ api_key = "sk-client-secret-2", base_url = p.url, max_retries = 0 }
      ok, e = pcall(c2.runs.get, c2.runs, RUN, { headers = { ["x-api-key"] = percall } })
      assert.is_false(ok)
      assert.is_true(exa.is_error(e, "authentication"), tostring(e))
      assert.is_false(shows(e, percall), tostring(e))
      -- the requests had one key header each
      local n = 0
      for _, r in ipairs(p:log().requests) do
        local v = peer.header_values(r, "x-api-key")
        if v[1] == other or v[1] == percall then
          n = n + 1
          assert.equals(1, #v)
        end
      end
      assert.equals(2, n)
    end)
  end)

  it("retry jitter differs between two processes started in the same second", function()
    -- each process prints the second it started in and its first 4 jitter
    -- values (exa.wire.retry, as the backoff delays use them)
    local lua = ({ jit = "luajit" })[os.getenv("EXA_TEST_LUA_TAG") or ""]
      or ("lua" .. (os.getenv("EXA_TEST_LUA_TAG") or "5.4"))
    local script = "local r = require 'exa.wire.retry'; io.write(os.time(), ' ', r.jitter(), ' ', r.jitter(), ' ', "
      .. "r.jitter(), ' ', r.jitter(), '\\n')"
    local cmd = ("cd %s && (%s -e %s & %s -e %s & wait)"):format(mock.quote(mock.root), lua,
      mock.quote(script), lua, mock.quote(script))
    local a, b
    for _ = 1, 5 do -- until both started in the same second
      local f = assert(io.popen(cmd, "r"))
      a, b = f:read("*l"), f:read("*l")
      f:close()
      assert(a and b, "the two processes printed nothing")
      if a:match("^%d+") == b:match("^%d+") then break end
    end
    assert.equals(a:match("^%d+"), b:match("^%d+"))
    assert.are_not.equal(a:match(" (.*)$"), b:match(" (.*)$"))
  end)
end)
