-- exa.core's small utilities: module identity, the monotonic clock and sleep
-- that retries, polling and stream resume rely on.
local core = require "exa.core"

describe("exa.core", function()
  it("reports its version and libcurl's", function()
    assert.equal(require("exa.version"), core.version)
    assert.matches("^%d+%.%d+%.%d+", core.curl_version)
  end)

  it("monotime never goes backwards", function()
    local last = core.monotime()
    for _ = 1, 10000 do
      local t = core.monotime()
      assert.is_true(t >= last)
      last = t
    end
  end)

  it("sleep blocks at least the time asked, fractions included", function()
    local t0 = core.monotime()
    core.sleep(0.05)
    assert.is_true(core.monotime() - t0 >= 0.05)
  end)

  it("sleep returns at once for zero, negative and NaN, and rejects non-numbers", function()
    core.sleep(0)
    core.sleep(-5)
    core.sleep(0 / 0)
    assert.has_error(function() core.sleep("soon") end)
  end)
end)
