-- examples/structured_output.lua: ask for a table, get a table. A run with an
-- outputSchema returns output.structured shaped by that JSON Schema, and
-- output.grounding says which sources back each field.
--
--   EXA_API_KEY=... lua5.4 examples/structured_output.lua ["your question"]
--
-- EXA_BASE_URL points it at another endpoint (the simulator: make mock).
local exa = require "exa"

local QUERY = arg and arg[1] or "Three startups building vector databases: where each is based, and its website"

local schema = {
  type = "object",
  required = { "companies" },
  properties = {
    companies = {
      type = "array",
      maxItems = 3,
      items = {
        type = "object",
        required = { "name", "city", "website" },
        properties = {
          name = { type = "string" },
          city = { type = "string" },
          website = { type = "string", format = "uri" },
        },
      },
    },
  },
}

local function main()
  local client = exa.new{}
  -- create, then wait: the simplest way when you only need the end result
  local run = client.runs:create(exa.run(QUERY):effort("low"):schema(schema))
  print(("run %s is %s"):format(run.id, run.status))
  run = client.runs:wait(run.id, { timeout = 900 })
  if run.status ~= "completed" then
    io.stderr:write(("run %s ended %s\n"):format(run.id, run.status))
    return 1
  end

  -- grounding: one entry per field, e.g. "structured.companies[0].website"
  local sources = {}
  for _, g in ipairs(run.output.grounding) do sources[g.field] = g.citations end

  local rows = run.output.structured.companies
  print(("%d companies:"):format(#rows))
  for i, c in ipairs(rows) do
    print(("%d. %s (%s) <%s>"):format(i, c.name, c.city, c.website))
    local cited = sources[("structured.companies[%d].website"):format(i - 1)] or {}
    for _, c in ipairs(cited) do print("   source: " .. c.url) end
  end
  print(("cost: $%.4f"):format(run.costDollars.total))
  client:close()
  return 0
end

local ok, rc = pcall(main)
if not ok then
  io.stderr:write(tostring(rc), "\n")
  os.exit(1)
end
os.exit(rc)
