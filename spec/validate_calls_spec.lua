-- Per-call durations (options.timeout, wait()'s timeout and interval) are
-- checked before any request: NaN, inf, sub-millisecond and non-numbers are
-- validation error objects, never a plain string from the core.
local exa = require "exa"
local c = exa.new{ api_key = "k", base_url = "http://127.0.0.1:9", max_retries = 0 }
describe("per-call durations end to end", function()
  it("are validation errors", function()
    for _, v in ipairs{ 0 / 0, math.huge, -math.huge, 0.0004, "1" } do
      for _, m in ipairs{ "get", "cancel", "delete" } do
        local ok, e = pcall(c.runs[m], c.runs, "run_1", { timeout = v })
        assert.is_false(ok)
        assert.is_true(exa.is_error(e, "validation"), tostring(e))
        assert.equals("options.timeout", e.field)
      end
      local ok, e = pcall(c.runs.stream, c.runs, { query = "q" }, { timeout = v })
      assert.is_true(exa.is_error(e, "validation"), tostring(e))
      ok, e = pcall(c.runs.wait, c.runs, "run_1", { interval = v })
      assert.is_true(exa.is_error(e, "validation"), tostring(e))
      assert.equals("interval", e.field)
    end
    local ok, e = pcall(c.runs.wait, c.runs, "run_1", { timeout = 0 / 0 })
    assert.is_true(exa.is_error(e, "validation"), tostring(e))
  end)
end)
