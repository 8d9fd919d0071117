-- Redirects (issue 7, item 8): same-origin 301/302/307/308 are followed for
-- a few hops, 307/308 keeping the method and the body; more than 5 hops is
-- an error; a redirect to another origin is refused with kind = "redirect"
-- and the API key never reaches that origin. Two raw peers (spec/helpers/
-- api_peer_server.lua) play the API and the other origin and record every
-- request they get.
local exa = require "exa"
local peer = require "helpers.api_peer"

describe("redirects", function()
  local p, other
  local serial = 0
  setup(function()
    p = peer.start(120)
    other = peer.start(120)
  end)
  teardown(function()
    p:stop()
    other:stop()
  end)

  local RUN = "agent_run_redirected"

  local function session(plan)
    serial = serial + 1
    local key = "sk-redirect-" .. serial .. "-secret"
    p:session{ key = key, n = 4, runs = { { n = 4, id = RUN } }, plan = plan }
    local c = exa.new{ api_key = key, base_url = p.url, max_retries = 0, sleep = function() end }
    return c, key
  end

  local function hops(key)
    local out = {}
    for _, r in ipairs(p:log(key).requests) do out[#out + 1] = r.method .. " " .. r.target end
    return out
  end

  local function shows(e, secret)
    if tostring(e):find(secret, 1, true) then return true end
    for _, v in pairs(e) do
      if type(v) == "string" and v:find(secret, 1, true) then return true end
    end
    return false
  end

  local path = "/agent/runs/" .. RUN

  it("follows 301, 302, 307 and 308 on the same origin, relative and absolute", function()
    local c, key = session{ get = {
      { redirect = 301, location = path .. "?hop=1" },
      { redirect = 302, location = p.url .. path .. "?hop=2" },
      { redirect = 307, location = RUN .. "?hop=3" },
      { redirect = 308, location = path .. "?hop=4" } } }
    assert.equals(RUN, c.runs:get(RUN).id)
    assert.same({ "GET " .. path, "GET " .. path .. "?hop=1", "GET " .. path .. "?hop=2",
      "GET " .. path .. "?hop=3", "GET " .. path .. "?hop=4" }, hops(key))
  end)

  it("307 and 308 keep the method and the body of a create: one run", function()
    local c, key = session{ create = {
      { redirect = 307, location = "/agent/runs?hop=1" },
      { redirect = 308, location = p.url .. "/agent/runs?hop=2" } } }
    local run = c.runs:create{ query = "redirected create" }
    assert.equals("redirected create", run.request.query)
    local log = p:log(key)
    assert.equals(3, #log.requests)
    for _, r in ipairs(log.requests) do
      assert.equals("POST", r.method)
      assert.equals(log.requests[1].body, r.body)
      assert.equals("application/json", r.headers["content-type"])
    end
    assert.matches('"query":"redirected create"', log.requests[3].body)
    assert.equals(2, #log.runs) -- the one made beforehand and this create
  end)

  it("follows redirects of event streams: a live create (307) and a replay (302, 301)", function()
    local c, key = session{ create = { { redirect = 307, location = "/agent/runs?hop=1" } },
      replay = { { redirect = 302, location = path .. "/events?hop=1" },
        { redirect = 301, location = p.url .. path .. "/events?hop=2" } } }
    local n = 0
    for ev in c.runs:stream{ query = "redirected stream" } do
      n = n + 1
      assert.equals(tostring(n), ev.id)
    end
    assert.equals(4, n)
    n = 0
    for _ in c.runs:replay(RUN) do n = n + 1 end
    assert.equals(4, n)
    local h = hops(key)
    assert.same({ "POST /agent/runs", "POST /agent/runs?hop=1", "GET " .. path .. "/events",
      "GET " .. path .. "/events?hop=1", "GET " .. path .. "/events?hop=2" }, h)
  end)

  it("follows 5 hops and refuses the 6th", function()
    local plan = {}
    for i = 1, 5 do plan[i] = { redirect = 302, location = path .. "?hop=" .. i } end
    local c, key = session{ get = plan }
    assert.equals(RUN, c.runs:get(RUN).id)
    assert.equals(6, #hops(key))
    plan[6] = { redirect = 302, location = path .. "?hop=6" }
    c, key = session{ get = plan }
    local ok, e = pcall(c.runs.get, c.runs, RUN)
    assert.is_false(ok)
    assert.is_true(exa.is_error(e, "redirect"), tostring(e))
    assert.matches("more than 5 redirects", e.message)
    assert.equals(6, #hops(key)) -- the 6th location is never asked for
  end)

  describe("to another origin", function()
    local function refused(c, key, call, ...)
      local before = #other:log().requests
      local ok, e = pcall(call, c.runs, ...)
      assert.is_false(ok)
      assert.is_true(exa.is_error(e, "redirect"), tostring(e))
      assert.is_false(shows(e, key), tostring(e))
      assert.equals(before, #other:log().requests, "the other origin got a request")
      return e
    end

    it("refuses a GET, a create and a stream, and sends the other origin nothing", function()
      local elsewhere = other.url .. path
      local c, key = session{ get = { { redirect = 302, location = elsewhere } },
        create = { { redirect = 307, location = other.url .. "/agent/runs" },
          { redirect = 308, location = other.url .. "/agent/runs" } } }
      local e = refused(c, key, c.runs.get, RUN)
      assert.equals(302, e.status)
      assert.matches("another origin", e.message)
      refused(c, key, c.runs.create, { query = "q" })
      refused(c, key, function(runs) for _ in runs:stream{ query = "q" } do end end)
      assert.equals(3, #hops(key))
      assert.equals(0, #other:log().requests)
    end)

    it("a different host name or scheme on the same port is another origin too", function()
      local port = p.url:match(":(%d+)$")
      local c, key = session{ get = {
        { redirect = 301, location = "http://localhost:" .. port .. path },
        { redirect = 301, location = "https://127.0.0.1:" .. port .. path } } }
      refused(c, key, c.runs.get, RUN)
      refused(c, key, c.runs.get, RUN)
      assert.same({ "GET " .. path, "GET " .. path }, hops(key))
    end)

    it("the key given as a header is not sent either, and errors do not show it", function()
      serial = serial + 1
      local key = "sk-redirect-hdr-" .. serial
      p:session{ key = key, n = 4, runs = { { n = 4, id = RUN } },
        plan = { get = { { redirect = 302, location = other.url .. path } } } }
      local c = exa.new{ api_key = "sk-unused-" .. serial, base_url = p.url, max_retries = 0,
        headers = { ["X-Api-Key"] = key } }
      local e = refused(c, key, c.runs.get, RUN)
      assert.is_false(shows(e, "sk-unused-" .. serial))
      assert.equals(0, #other:log().requests)
    end)
  end)
end)
