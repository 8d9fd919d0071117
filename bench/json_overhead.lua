-- JSON cost of keeping array-ness and exact numbers (exa.wire.json) over raw
-- lua-cjson, on a completed run object like the API returns.
local json = require "exa.wire.json"
local cjson = require "cjson"

local grounding, structured = {}, {}
for i = 1, 10 do
  structured[i] = { name = "Company " .. i, round = "Series A", amount = "$" .. i .. "0M", sourceUrl = "https://example.com/" .. i }
  grounding[#grounding + 1] = { field = ("structured.companies[%d].name"):format(i - 1),
    citations = { { url = "https://example.com/" .. i, title = "Source " .. i } }, confidence = "high" }
end
local run = { id = "agent_run_01j7x9v0m2n4p6q8r0s2t4v6w8", object = "agent_run", status = "completed",
  stopReason = "schema_satisfied", createdAt = "2026-05-07T18:31:00.000Z", completedAt = "2026-05-07T18:32:00.000Z",
  request = { query = "Find recent Series A or Series B AI infrastructure funding rounds.", metadata = { user = "u1" } },
  output = { text = ("An answer. "):rep(40), structured = { companies = structured }, grounding = grounding },
  usage = { agentComputeUnits = 3, searches = 12, emails = 0, phoneNumbers = 0 },
  costDollars = { total = 0.684, agentCompute = 0.6, search = 0.084, emails = 0, phoneNumbers = 0 } }
local text = cjson.encode(run)
local N = tonumber(os.getenv("BENCH_JSON_ITER")) or 20000

local function time(name, f)
  local t0 = os.clock()
  for _ = 1, N do f() end
  local dt = os.clock() - t0
  print(("%-34s %-8s %8.1f us/op"):format(name, jit and "LuaJIT" or _VERSION:gsub("Lua ", "Lua"), dt / N * 1e6))
end
time("decode run: raw cjson", function() cjson.decode(text) end)
time("decode run: exa.wire.json", function() json.decode(text) end)
local decoded = json.decode(text)
time("encode run: raw cjson", function() cjson.encode(decoded) end)
time("encode run: exa.wire.json", function() json.encode(decoded) end)
