-- exa_mock.pricing: usage -> costDollars, after the beta price table.
-- Agent compute is billed at $0.025 per ACU; an effort's run uses a fixed
-- number of ACUs, so a run costs low $0.025, medium/auto $0.10, high $0.50 and
-- xhigh $1.00-$2.00 (40 ACUs plus 4 per input row, at most 80).
-- Metered parts: $7 per 1,000 searches, $0.02 per email, $0.07 per phone number.
local util = require "exa_mock.util"

local pricing = {
  PER_ACU = 0.025, PER_SEARCH = 0.007, PER_EMAIL = 0.02, PER_PHONE = 0.07,
}

local ACU = { low = 1, medium = 4, auto = 4, high = 20 }

function pricing.acu(effort, rows)
  if effort == "xhigh" then return math.min(40 + 4 * (rows or 0), 80) end
  return ACU[effort] or ACU.auto
end

function pricing.cost(u)
  local r = util.round6
  local c = {
    agentCompute = r(u.agentComputeUnits * pricing.PER_ACU),
    search = r(u.searches * pricing.PER_SEARCH),
    emails = r(u.emails * pricing.PER_EMAIL),
    phoneNumbers = r(u.phoneNumbers * pricing.PER_PHONE),
  }
  c.total = r(c.agentCompute + c.search + c.emails + c.phoneNumbers)
  return c
end

return pricing
