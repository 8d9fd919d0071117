-- examples/enrichment.lua: enrich your own rows. input.data gives the agent the
-- records to work on (here: companies, some with a known domain); the schema
-- says what to add to each (its CEO and a page that says so); input.exclusion
-- lists what to leave out (a company covered elsewhere, a person already known).
--
--   EXA_API_KEY=... lua5.4 examples/enrichment.lua
local exa = require "exa"

local rows = {
  { company = "Apple", domain = "apple.com" },
  { company = "Microsoft" },
  { company = "Zed Industries" },
}
local exclusion = {
  { company = "Zed Industries" },   -- leave this company out entirely
}

-- the result: one object per row, in the rows' order
local schema = {
  type = "array",
  items = {
    type = "object",
    required = { "company", "ceo", "sourceUrl" },
    properties = {
      company = { type = "string" },
      ceo = { type = "string" },
      sourceUrl = { type = "string", format = "uri" },
    },
  },
}

local function main()
  local client = exa.new{}
  local params = exa.run("Find the chief executive of each company, with a page that names them")
    :effort("low"):data(rows):exclude(exclusion):schema(schema)

  -- stream: progress as it happens, the run itself with the completed event
  local run, events = nil, 0
  for ev in client.runs:stream(params) do
    events = events + 1
    if ev.event == "agent_run.completed" then run = ev.data end
    if ev.event == "agent_run.failed" then
      io.stderr:write("run failed: ", tostring(ev.data.error and ev.data.error.message), "\n")
      return 1
    end
  end
  if not run then
    io.stderr:write("the stream ended without a completed run\n")
    return 1
  end

  print(("run %s: %d events, %d of %d rows enriched"):format(run.id, events, #run.output.structured, #rows))
  local found = {}
  for _, item in ipairs(run.output.structured) do
    found[item.company] = true
    print(("%-16s CEO %-22s <%s>"):format(item.company, item.ceo, item.sourceUrl))
  end
  for _, x in ipairs(exclusion) do
    print(("%-16s excluded%s"):format(x.company, found[x.company] and " -- but it came back!" or ""))
  end
  client:close()
  return 0
end

local ok, rc = pcall(main)
if not ok then
  io.stderr:write(tostring(rc), "\n")
  os.exit(1)
end
os.exit(rc)
