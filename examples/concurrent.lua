-- examples/concurrent.lua: many runs at once with client.runs:batch, in one
-- Lua thread. Every run is streamed live; at most CONCURRENCY are active at
-- once (the account allows 2 by default), and a create refused with 429
-- CONCURRENCY_LIMIT_REACHED (another process holds the slots) waits for a
-- slot and is sent again: it created nothing. Each run is made exactly once.
-- Progress goes to stderr, the results in input order and the cost to stdout.
--
--   EXA_API_KEY=... lua5.4 examples/concurrent.lua [CONCURRENCY]
local exa = require "exa"

local CONCURRENCY = tonumber(arg and arg[1] or "") or 2
local queries = {
  "Recent Series A rounds in AI infrastructure",
  "Open-source vector databases and their licences",
  "Companies building evaluation tools for language models",
  "GPU cloud providers that launched this year",
  "Startups working on AI agents for customer support",
  "Robotics companies that raised a seed round",
}

local client = exa.new{}
local list = {}
for i, q in ipairs(queries) do list[i] = { query = q, effort = "low", metadata = { batch = "concurrent" } } end

local seen = {}
local ok, runs, stats = pcall(client.runs.batch, client.runs, list, {
  concurrency = CONCURRENCY,
  on_event = function(ev, i)
    seen[i] = (seen[i] or 0) + 1
    if ev.event == "agent_run.created" or exa.TERMINAL_EVENTS[ev.event] then
      io.stderr:write(("[%d] %s\n"):format(i, ev.event))
    end
  end,
})
if not ok then
  io.stderr:write("concurrent: ", tostring(runs), "\n")
  os.exit(1)
end

for i, run in ipairs(runs) do
  local text = type(run.output) == "table" and type(run.output.text) == "string" and run.output.text or ""
  print(("%d. %s: %s, %d events, %s"):format(i, queries[i], run.status, seen[i] or 0,
    (text:match("^[^\n]*") or ""):sub(1, 60)))
end
local costs = client:costs()
print(("%d runs, at most %d at once, %d waits for a slot, total $%.4f"):format(
  costs.runs, CONCURRENCY, stats.limited, costs.total))
