-- examples/cost_control.lua: spend on purpose. Every run is billed: its effort
-- sets the base price, and searches, emails and phone numbers are metered
-- (run.costDollars says what a finished run cost, run.usage what it used).
-- This script
--   - tags its runs (metadata) so their cost can be audited later;
--   - does not start a run when the total so far plus one more run as dear as
--     the dearest so far would pass a budget (before the first run it assumes
--     the effort's base price; searches are extra, so a budget smaller than
--     one run can still be passed by the first);
--   - cancels a run that takes longer than a time limit (a cancelled run bills
--     what it used until then);
--   - adds up, from the API, what every run with its tag cost.
--
--   EXA_API_KEY=... lua5.4 examples/cost_control.lua [--budget DOLLARS] [--max-seconds S]
local exa = require "exa"

-- Per-run prices of the beta price table (xhigh: the top of its $1-2 range).
local PRICE = { low = 0.025, medium = 0.10, auto = 0.10, high = 0.50, xhigh = 2.00 }

local budget, max_seconds, effort = 0.25, 600, "low"
for i = 1, arg and #arg or 0 do
  if arg[i] == "--budget" then budget = tonumber(arg[i + 1]) end
  if arg[i] == "--max-seconds" then max_seconds = tonumber(arg[i + 1]) end
  if arg[i] == "--effort" then effort = arg[i + 1] end
end

local questions = {
  "Which AI infrastructure startups raised a Series A this month?",
  "Which of them are hiring GPU engineers?",
  "What do their customers say about them?",
  "Who are their main competitors?",
  "Which of them have published benchmarks?",
}

local function main()
  -- Retries: a create is never retried once it may have reached the server (it could
  -- create a second run); reads are, at most max_retries times.
  local client = exa.new{ max_retries = 2 }
  local tag = ("cost-control-%d-%d"):format(os.time(), math.random(1000, 9999))
  local spent, dearest = 0, PRICE[effort] or PRICE.auto

  for i, q in ipairs(questions) do
    if spent + dearest > budget then
      print(("budget: not starting run %d: $%.4f spent, a run may cost $%.4f, budget $%.4f")
        :format(i, spent, dearest, budget))
      break
    end
    local run = client.runs:create(exa.run(q):effort(effort):metadata{ budget = tag })
    local ok, done = pcall(client.runs.wait, client.runs, run.id, { timeout = max_seconds })
    if not ok then
      if not (exa.is_error(done, "timeout") and done.code == "WAIT_TIMEOUT") then error(done, 0) end
      done = client.runs:cancel(run.id)
      print(("run %d: %s still running after %gs: cancelled"):format(i, run.id, max_seconds))
      done = client.runs:wait(run.id)
    end
    local cost = done.costDollars.total
    spent = spent + cost
    if cost > dearest then dearest = cost end
    print(("run %d: %s %s, $%.4f (agent compute $%.4f, %d searches $%.4f)"):format(i, done.id, done.status,
      cost, done.costDollars.agentCompute, done.usage.searches, done.costDollars.search))
  end

  -- The audit: the API's own record of every run with our tag.
  local audited, n = 0, 0
  for r in client.runs:iter{ limit = 100 } do
    local md = type(r.request) == "table" and r.request.metadata
    if type(md) == "table" and md.budget == tag then
      n = n + 1
      audited = audited + r.costDollars.total
    end
  end
  print(("spent: $%.4f of a $%.4f budget; the API's record for tag %s: %d runs, $%.4f")
    :format(spent, budget, tag, n, audited))
  client:close()
  return 0
end

local ok, rc = pcall(main)
if not ok then
  io.stderr:write(tostring(rc), "\n")
  os.exit(1)
end
os.exit(rc)
