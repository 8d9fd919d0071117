-- The error convention, unit by unit (the wire cases are in client_api_spec).
local exa = require "exa"
local errors = require "exa.errors"
local json = require "exa.wire.json"

local function res(status, body, headers)
  return { status = status, body = body, headers = headers or {} }
end

describe("error objects", function()
  it("carry the API's type/code/message, status and request id", function()
    local body = '{"error":{"type":"RATE_LIMIT_ERROR","code":"CONCURRENCY_LIMIT_REACHED","message":"2 active runs"}}'
    local e = errors.from_response(res(429, body, { ["x-request-id"] = "req_1" }), json.decode(body),
      { method = "POST", url = "https://api.exa.ai/agent/runs" })
    assert.is_true(exa.is_error(e))
    assert.is_true(exa.is_error(e, "concurrency_limit"))
    assert.is_false(exa.is_error(e, "rate_limit"))
    assert.equals(429, e.status)
    assert.equals("RATE_LIMIT_ERROR", e.type)
    assert.equals("CONCURRENCY_LIMIT_REACHED", e.code)
    assert.equals("2 active runs", e.message)
    assert.equals("req_1", e.request_id)
    assert.is_true(e.retryable)
    local s = tostring(e)
    assert.matches("concurrency_limit", s)
    assert.matches("HTTP 429", s)
    assert.matches("CONCURRENCY_LIMIT_REACHED", s)
    assert.matches("2 active runs", s)
    assert.matches("req_1", s)
  end)

  it("tell a plain rate limit from the concurrency limit", function()
    local body = '{"error":{"type":"RATE_LIMIT_ERROR","code":"RATE_LIMITED","message":"slow down"}}'
    local e = errors.from_response(res(429, body, { ["retry-after"] = "3" }), json.decode(body))
    assert.equals("rate_limit", e.kind)
    assert.equals(3, e.retry_after)
  end)

  it("map statuses and codes to kinds", function()
    local cases = {
      { 400, "INVALID_REQUEST", "invalid_request" }, { 400, "MISSING_BETA_HEADER", "invalid_request" },
      { 401, "AUTHENTICATION_ERROR", "authentication" }, { 404, "RUN_NOT_FOUND", "not_found" },
      { 404, "PREVIOUS_RUN_NOT_FOUND", "not_found" }, { 400, "PREVIOUS_RUN_NOT_COMPLETED", "invalid_request" },
      { 500, "SERVER_ERROR", "server" }, { 500, "TIMEOUT", "server" }, { 503, nil, "server" },
      { 418, nil, "http" },
    }
    for _, c in ipairs(cases) do
      local body = c[2] and json.encode{ error = { type = "X", code = c[2], message = "m" } } or "{}"
      local e = errors.from_response(res(c[1], body), json.decode(body))
      assert.equals(c[3], e.kind, c[1] .. " " .. tostring(c[2]))
    end
  end)

  it("say a run TIMEOUT is not retryable but a 503 is", function()
    local b = '{"error":{"type":"SERVER_ERROR","code":"TIMEOUT","message":"run timed out"}}'
    assert.is_false(errors.from_response(res(500, b), json.decode(b)).retryable)
    assert.is_true(errors.from_response(res(503, ""), nil).retryable)
    assert.is_true(errors.from_response(res(408, ""), nil).retryable)
    assert.is_true(errors.from_response(res(409, ""), nil).retryable)
    assert.is_false(errors.from_response(res(400, "{}"), {}).retryable)
  end)

  it("turn an HTML proxy page into a short readable message", function()
    local html = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>body{x:y}</style></head>"
      .. "<body><h1>502 Bad Gateway</h1>" .. string.rep("<p>padding text</p>", 100) .. "</body></html>"
    local e = errors.from_response(res(502, html, { ["content-type"] = "text/html" }), json.decode(html))
    assert.equals("server", e.kind)
    assert.equals(502, e.status)
    assert.is_nil(e.code)
    assert.matches("non%-JSON", e.message)
    assert.matches("text/html", e.message)
    assert.matches("502 Bad Gateway", e.message)
    assert.is_nil(e.message:find("<", 1, true))
    assert.is_nil(e.message:find("x:y", 1, true)) -- style (and script) contents go with their tags
    assert.is_true(#e.message < 400)
  end)

  it("say when an error body is JSON without an error object", function()
    local e = errors.from_response(res(502, '{"detail":"upstream"}'), json.decode('{"detail":"upstream"}'))
    assert.matches("unexpected JSON body", e.message)
    assert.matches("upstream", e.message)
  end)

  it("handle an empty error body", function()
    local e = errors.from_response(res(500, ""), nil)
    assert.matches("empty", e.message)
  end)

  it("wrap transport failures", function()
    local e = errors.from_transport({ kind = "connect", code = 7, message = "Couldn't connect" },
      { method = "GET", url = "http://x/agent/runs" })
    assert.is_true(exa.is_error(e, "connect"))
    assert.is_true(e.retryable)
    assert.matches("connect", tostring(e))
    assert.is_false(errors.from_transport{ kind = "tls", message = "bad cert" }.retryable)
  end)

  it("redact a secret wherever it appears, raw or percent-encoded", function()
    local key = "sk-a/b+c d"
    local e = errors.new{ kind = "x", message = "key sk-a/b+c d in body",
      url = "http://h/p?k=sk-a%2Fb%2Bc%20d", details = { echo = "sk-a/b+c d" },
      echoed_url = "http://h/p?k=sk-a%2fb%2bc%20d" } -- lower-case escapes, as some servers echo them
    errors.redact(e, key)
    local all = tostring(e) .. e.url .. e.details.echo .. e.echoed_url
    assert.is_nil(all:find("sk-a", 1, true))
    assert.matches("REDACTED", e.message)
  end)

  it("parse Retry-After seconds, HTTP dates and Retry-After-Ms", function()
    assert.equals(2, errors.retry_after{ ["retry-after"] = "2" })
    assert.equals(0.25, errors.retry_after{ ["retry-after-ms"] = "250" })
    assert.is_nil(errors.retry_after{ ["retry-after"] = "soon" })
    assert.equals(0, errors.retry_after{ ["retry-after"] = "Sun, 06 Nov 1994 08:49:37 GMT" })
    local future = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 30)
    local d = errors.retry_after{ ["retry-after"] = future }
    assert.is_true(d >= 28 and d <= 31, tostring(d))
  end)

  it("describe values the same way on every Lua, never cutting a UTF-8 character", function()
    assert.equals("nan", errors.describe(0 / 0))
    assert.equals("inf", errors.describe(math.huge))
    assert.equals("-inf", errors.describe(-math.huge))
    assert.equals("null", errors.describe(exa.null))
    assert.equals("a table", errors.describe({}))
    assert.equals('"short"', errors.describe("short"))
    -- byte 40 is the first byte of an "é": the quote stops before it
    local q = errors.describe(string.rep("a", 39) .. string.rep("\195\169", 5))
    assert.equals('"' .. string.rep("a", 39) .. '..."', q)
    q = errors.describe(string.rep("a", 38) .. string.rep("\195\169", 5)) -- 38 + one whole "é"
    assert.equals('"' .. string.rep("a", 38) .. '\195\169..."', q)
  end)

  it("are not confused with other tables or strings", function()
    assert.is_false(exa.is_error({ kind = "x" }))
    assert.is_false(exa.is_error("boom"))
    assert.is_false(exa.is_error(nil))
  end)
end)
