-- Redaction where a key can appear (header values, URLs, echoed request
-- bodies, any long-enough match), and never out of ordinary words: with a
-- one-character key such as EXA_API_KEY=e, "authentication" and "Invalid API
-- key" stay whole, and the key still never shows in a header dump.
local exa = require "exa"
local errors = require "exa.errors"
local mock = require "helpers.mock"
local raises = require "helpers.raises"

describe("a one-character key", function()
  local KEY = "e"

  it("is cut where it stands alone: header lines, URLs, JSON bodies", function()
    local dump = "POST /agent/runs HTTP/1.1\r\nx-api-key: e\r\nAuthorization: Bearer e\r\n"
      .. "User-Agent: exa-lua/0.2.0\r\nAccept: application/json\r\n"
    local out = errors.redact_string(dump, KEY)
    assert.equal("POST /agent/runs HTTP/1.1\r\nx-api-key: [REDACTED]\r\nAuthorization: [REDACTED]\r\n"
      .. "User-Agent: exa-lua/0.2.0\r\nAccept: application/json\r\n", out)
    assert.equal("http://h/agent/runs?key=[REDACTED]&limit=5",
      errors.redact_string("http://h/agent/runs?key=e&limit=5", KEY))
    assert.equal('{"apiKey":"[REDACTED]","query":"the best"}',
      errors.redact_string('{"apiKey":"e","query":"the best"}', KEY))
  end)

  it("is never cut out of ordinary words", function()
    local e = errors.new{ kind = "authentication", status = 401, code = "TEAM_NOT_FOUND",
      message = "Invalid API key. Set the exa key header.", url = "http://127.0.0.1:1/agent/runs/agent_run_e1",
      details = { message = "Invalid API key", type = "authentication_error" } }
    errors.redact(e, KEY)
    assert.equal("exa: authentication (HTTP 401 TEAM_NOT_FOUND): Invalid API key. Set the exa key header.",
      tostring(e))
    assert.equal("http://127.0.0.1:1/agent/runs/agent_run_e1", e.url)
    assert.equal("authentication_error", e.details.type)
  end)

  it("header tables: a credential field goes whole", function()
    local e = errors.new{ kind = "x", message = "m",
      request = { headers = { ["x-api-key"] = "e", Authorization = "Bearer e", ["User-Agent"] = "exa-lua" } } }
    errors.redact(e, KEY)
    assert.equal("[REDACTED]", e.request.headers["x-api-key"])
    assert.equal("[REDACTED]", e.request.headers.Authorization)
    assert.equal("exa-lua", e.request.headers["User-Agent"])
  end)

  it("a key of 8 characters or more goes wherever it appears, even inside a word", function()
    assert.equal("pre[REDACTED]post", errors.redact_string("presk-12345678post", "sk-12345678"))
    assert.equal("pre-[REDACTED]", errors.redact_string("pre-sk-12345678", "sk-12345678"))
  end)

  describe("against the simulator", function()
    local srv
    setup(function() srv = mock.start{ "--api-key", "sk-the-right-one" } end)
    teardown(function() if srv then srv:stop() end end)

    it("a 401 for the key e reads whole", function()
      local c = exa.new{ api_key = KEY, base_url = srv.url, max_retries = 0 }
      local e = raises(c.runs.list, c.runs, { limit = 1 })
      assert.equal("authentication", e.kind)
      local s = tostring(e)
      assert.matches("^exa: authentication %(HTTP 401 TEAM_NOT_FOUND%)", s)
      assert.matches("Invalid API key.", s, 1, true)
      assert.is_nil(s:find("REDACTED", 1, true))
      -- the client's header dump (what it sends) shows no key
      local lines = c._t:header_lines({ method = "GET", path = "/agent/runs" }, false)
      local dump = c._t.redact_string(table.concat(lines, "\r\n"))
      assert.matches("x-api-key: [REDACTED]", dump, 1, true)
      for line in dump:gmatch("[^\r\n]+") do
        local value = line:match("^[^:]*:%s*(.*)$")
        assert.are_not.equal(KEY, value, line)
      end
      assert.is_nil(tostring(c):find("REDACTED", 1, true))
      c:close()
    end)

    it("the same with auth = bearer", function()
      local c = exa.new{ api_key = KEY, base_url = srv.url, max_retries = 0, auth = "bearer" }
      local e = raises(c.runs.get, c.runs, "agent_run_1")
      assert.matches("Invalid API key.", tostring(e), 1, true)
      local lines = c._t:header_lines({ method = "GET", path = "/agent/runs" }, false)
      local dump = c._t.redact_string(table.concat(lines, "\r\n"))
      assert.matches("Authorization: [REDACTED]", dump, 1, true)
      c:close()
    end)
  end)
end)
