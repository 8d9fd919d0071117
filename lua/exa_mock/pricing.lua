-- exa_mock.pricing: what a run uses and costs, after the published price
-- table: 1 Agent Compute Unit (ACU) = $0.0001, $7 per 1,000 searches, $0.02
-- per email, $0.07 per phone number. A run's costDollars is always its usage
-- priced by that table.
--
-- An effort's run costs the spec README's per-run figure before contact
-- enrichment: low $0.025, medium and auto $0.10, high $0.50, xhigh $1.00 plus
-- $0.10 per input row up to $2.00. It makes a few searches and spends the
-- rest of that price on ACUs (a low run: 2 searches = $0.014 and 110 ACUs =
-- $0.011). The post-beta efforts, which have no published price, are priced
-- here by assumption: minimal $0.01, max $3.00, ultra $10.00; and a call to
-- a post-beta data source (dataSources) $0.01.
local util = require "exa_mock.util"

local pricing = {
  PER_ACU = 0.0001, PER_SEARCH = 0.007, PER_EMAIL = 0.02, PER_PHONE = 0.07, PER_DATA_SOURCE_CALL = 0.01,
}

-- price per run without rows, enrichment and data sources
pricing.PRICE = { minimal = 0.01, low = 0.025, medium = 0.10, auto = 0.10, high = 0.50, xhigh = 1.00,
  max = 3.00, ultra = 10.00 }
-- searches per run, and the most that input rows add (one per row)
local SEARCHES = { minimal = 1, low = 2, medium = 3, auto = 3, high = 5, xhigh = 8, max = 12, ultra = 20 }
local ROW_SEARCHES = { minimal = 0, low = 1, medium = 10, auto = 10, high = 10, xhigh = 10, max = 10, ultra = 10 }

--- The run's price before enrichment and data sources.
function pricing.price(effort, rows)
  rows = rows or 0
  if effort == "xhigh" then return math.min(1.00 + 0.10 * rows, 2.00) end
  return pricing.PRICE[effort] or pricing.PRICE.auto
end

--- Web searches a run makes.
function pricing.searches(effort, rows)
  effort = SEARCHES[effort] and effort or "auto"
  return SEARCHES[effort] + math.min(rows or 0, ROW_SEARCHES[effort])
end

--- ACUs of a whole run: what its price leaves after its searches.
function pricing.acu(effort, rows, searches)
  local left = pricing.price(effort, rows) - searches * pricing.PER_SEARCH
  return math.max(0, math.floor(left / pricing.PER_ACU + 0.5))
end

--- usage -> costDollars. usage.dataSources (provider -> calls), when
--- present, adds costDollars.dataSources (provider -> dollars).
function pricing.cost(u)
  local r = util.round6
  local c = {
    agentCompute = r(u.agentComputeUnits * pricing.PER_ACU),
    search = r(u.searches * pricing.PER_SEARCH),
    emails = r(u.emails * pricing.PER_EMAIL),
    phoneNumbers = r(u.phoneNumbers * pricing.PER_PHONE),
  }
  local total = c.agentCompute + c.search + c.emails + c.phoneNumbers
  if u.dataSources then
    c.dataSources = {}
    for provider, calls in pairs(u.dataSources) do
      c.dataSources[provider] = r(calls * pricing.PER_DATA_SOURCE_CALL)
      total = total + c.dataSources[provider]
    end
  end
  c.total = r(total)
  return c
end

return pricing
