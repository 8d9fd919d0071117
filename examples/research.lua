-- examples/research.lua: the main job. Start a research run with a
-- structured output schema, follow its events live, then print the answer,
-- the structured result, each field's citations and what it cost.
--
--   EXA_API_KEY=... lua5.4 examples/research.lua ["your question"] [--effort low]
--
-- With only EXA_API_KEY set it talks to https://api.exa.ai; set EXA_BASE_URL
-- to use another endpoint (make demo points it at the local simulator).
-- Needs LUA_PATH / LUA_CPATH to find exa (scripts/demo.sh sets them).
local exa = require "exa"

local QUERY = "Find recent Series A or Series B AI infrastructure funding rounds."
local effort = "low"
local query
do
  local i = 1
  while arg and arg[i] do
    if arg[i] == "--effort" and arg[i + 1] then
      effort = arg[i + 1]
      i = i + 1
    else
      query = arg[i]
    end
    i = i + 1
  end
end
query = query or QUERY

local schema = {
  type = "object",
  required = { "companies" },
  properties = {
    companies = {
      type = "array",
      maxItems = 5,
      items = {
        type = "object",
        required = { "name", "round", "amount", "sourceUrl" },
        properties = {
          name = { type = "string" },
          round = { type = "string" },
          amount = { type = "string" },
          sourceUrl = { type = "string", format = "uri" },
        },
      },
    },
  },
}

-- A live one-line progress display, only when stderr is a terminal.
local function stderr_is_tty()
  local term = os.getenv("TERM")
  if not term or term == "" or term == "dumb" then return false end
  local r = os.execute("test -t 2")
  return r == true or r == 0
end
local tty = stderr_is_tty()
local width = tonumber(os.getenv("COLUMNS") or "") or 80

local function progress(line)
  if not tty then return end
  if #line > width - 1 then line = line:sub(1, width - 4) .. "..." end
  io.stderr:write("\r\27[K", line)
  io.stderr:flush()
end

local function describe(ev, n)
  local d = type(ev.data) == "table" and ev.data or {}
  local name = ev.event:gsub("^agent_run%.", "")
  local detail = ""
  if ev.event == "agent_run.search_trace" then
    detail = d.text or ""
  elseif ev.event == "agent_run.source.added" and type(d.source) == "table" then
    detail = d.source.title or d.source.url or ""
  elseif type(d.item) == "table" then
    detail = tostring(d.item.name or d.item.type or "")
  elseif d.status then
    detail = tostring(d.status)
  end
  return ("[%3d] %-20s %s"):format(n, name, tostring(detail):gsub("%s+", " "))
end

-- JSON, indented, keys sorted (for reading, not for machines).
local function pretty(v, indent)
  indent = indent or ""
  if type(v) ~= "table" then
    local s = exa.json_encode(v) or tostring(v)
    return (s:gsub("\\/", "/")) -- the encoder escapes "/": valid JSON, hard to read
  end
  local inner = indent .. "  "
  local parts = {}
  if exa.is_array(v) or (#v > 0 and next(v, #v) == nil) then
    if #v == 0 then return "[]" end
    for i = 1, #v do parts[i] = inner .. pretty(v[i], inner) end
    return "[\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = tostring(k) end
  if #keys == 0 then return "{}" end
  table.sort(keys)
  for i, k in ipairs(keys) do
    parts[i] = inner .. exa.json_encode(k) .. ": " .. pretty(v[k], inner)
  end
  return "{\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "}"
end

local function money(x)
  return type(x) == "number" and ("$%.4f"):format(x) or "n/a"
end

local function num(x)
  return type(x) == "number" and ("%g"):format(x) or "n/a"
end

local function main()
  local client = exa.new{}
  local params = exa.run(query):effort(effort):schema(schema)
    :metadata{ source = "exa-lua examples/research.lua" }

  io.stdout:write("Query: ", query, "\n")
  local run, failed, n = nil, nil, 0
  for ev in client.runs:stream(params) do
    n = n + 1
    if ev.event == "agent_run.created" and type(ev.data) == "table" then
      if tty then io.stderr:write("\r\27[K") end
      io.stdout:write("Run:   ", tostring(ev.data.id), " (effort ", effort, ")\n")
      io.stdout:flush()
    end
    progress(describe(ev, n))
    if ev.event == "agent_run.completed" then
      run = ev.data
    elseif ev.event == "agent_run.failed" or ev.event == "agent_run.cancelled" then
      failed = ev
    end
  end
  if tty then io.stderr:write("\r\27[K") end
  io.stdout:write(("Events: %d\n"):format(n))

  if failed then
    local d = type(failed.data) == "table" and failed.data or {}
    local e = type(d.error) == "table" and d.error or {}
    io.stderr:write(("run %s: %s %s\n"):format(failed.event, tostring(e.code or d.status or ""),
      tostring(e.message or "")))
    return 1
  end
  if type(run) ~= "table" or type(run.output) ~= "table" then
    io.stderr:write("the stream ended without the completed run\n")
    return 1
  end

  local out = run.output
  io.stdout:write("\n== Answer ==\n", tostring(out.text), "\n")

  io.stdout:write("\n== Structured result ==\n")
  local s = out.structured
  if type(s) == "table" and type(s.companies) == "table" then
    for i, c in ipairs(s.companies) do
      io.stdout:write(("%d. %s | %s | %s\n   %s\n"):format(i, tostring(c.name), tostring(c.round),
        tostring(c.amount), tostring(c.sourceUrl)))
    end
  end
  io.stdout:write(pretty(s), "\n")

  io.stdout:write("\n== Citations ==\n")
  local grounding = type(out.grounding) == "table" and out.grounding or {}
  if #grounding == 0 then io.stdout:write("(none)\n") end
  for _, g in ipairs(grounding) do
    local extra = {}
    if type(g.confidence) == "string" then extra[#extra + 1] = "confidence " .. g.confidence end
    if type(g.score) == "number" then extra[#extra + 1] = ("score %.2f"):format(g.score) end
    io.stdout:write(tostring(g.field), #extra > 0 and (" (" .. table.concat(extra, ", ") .. ")") or "", "\n")
    for _, c in ipairs(type(g.citations) == "table" and g.citations or {}) do
      local title = type(c.title) == "string" and c.title or ""
      io.stdout:write("  - ", title ~= "" and (title .. " ") or "", "<", tostring(c.url), ">\n")
    end
  end

  io.stdout:write("\n== Cost ==\n")
  local cost = type(run.costDollars) == "table" and run.costDollars or {}
  local usage = type(run.usage) == "table" and run.usage or {}
  io.stdout:write(("total %s  (agent compute %s, search %s, emails %s, phone numbers %s)\n"):format(
    money(cost.total), money(cost.agentCompute), money(cost.search), money(cost.emails), money(cost.phoneNumbers)))
  io.stdout:write(("usage: %s agent compute units, %s searches, %s emails, %s phone numbers\n"):format(
    num(usage.agentComputeUnits), num(usage.searches), num(usage.emails), num(usage.phoneNumbers)))
  client:close()
  return 0
end

local ok, rc = pcall(main)
if not ok then
  io.stderr:write(tostring(rc), "\n")
  if exa.is_error(rc) and rc.kind == "validation" and rc.field == "api_key" then
    io.stderr:write("set EXA_API_KEY (and EXA_BASE_URL for a local simulator)\n")
  end
  os.exit(1)
end
os.exit(rc)
