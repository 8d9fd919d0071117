-- Review findings on option checking, the budget and redaction. No request
-- is sent: every call here is refused before any byte goes out (the base URL
-- is a closed port).
local exa = require "exa"

local URL = "http://127.0.0.1:9"

local function refused(fn, ...)
  local ok, e = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  assert.is_true(exa.is_error(e), "expected an error object, got " .. tostring(e))
  return e
end

describe("the budget's holds", function()
  it("a stream refused for its options holds nothing back", function()
    local c = exa.new{ api_key = "k", base_url = URL, budget = { max_dollars = 1 } }
    local e = refused(c.runs.stream, c.runs, { query = "q", effort = "high" }, { timout = 1 })
    assert.equal("validation", e.kind)
    e = refused(c.runs.stream, c.runs, { query = "q", effort = "high" }, { resume = "no" })
    assert.equal("validation", e.kind)
    local b = c:costs().budget
    assert.equal(0, b.reserved)
    assert.equal(1, b.remaining)
    c:close()
  end)
end)
