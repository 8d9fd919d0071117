-- exa.cli.render: what the command line prints for people (--json prints
-- the API's own objects instead): runs, their output, citations and cost,
-- lists, events, estimates, and the one-line live progress display.
local type, tostring, tonumber, pairs, ipairs, next, setmetatable =
  type, tostring, tonumber, pairs, ipairs, next, setmetatable
local string_format, string_gsub, string_sub = string.format, string.gsub, string.sub
local table_concat, table_sort = table.concat, table.sort
local math_huge = math.huge
local io_stderr = io.stderr

local exa = require "exa"

local M = {}

local function str(v)
  if type(v) == "string" then return v end
  if v == nil or v == exa.null then return "" end
  return tostring(v)
end
M.str = str

local function one_line(s, max)
  s = string_gsub(str(s), "%s+", " ")
  if max and #s > max then s = string_sub(s, 1, max - 3) .. "..." end
  return s
end
M.one_line = one_line

--- Dollars: $0.0250; math.huge: "unbounded".
function M.money(x)
  if x == math_huge then return "unbounded" end
  if type(x) ~= "number" then return "n/a" end
  return string_format("$%.4f", x)
end
local money = M.money

local function is_list(v)
  return exa.is_array(v) or (v[1] ~= nil and next(v, #v) == nil)
end

--- JSON, indented, keys sorted (for reading, not for machines).
function M.pretty(v, indent)
  indent = indent or ""
  if type(v) ~= "table" or v == exa.null then
    local s = exa.json_encode(v) or tostring(v)
    return (string_gsub(s, "\\/", "/")) -- the encoder escapes "/": valid, but hard to read
  end
  local inner = indent .. "  "
  local parts = {}
  if is_list(v) then
    if #v == 0 then return "[]" end
    for i = 1, #v do parts[i] = inner .. M.pretty(v[i], inner) end
    return "[\n" .. table_concat(parts, ",\n") .. "\n" .. indent .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = tostring(k) end
  if #keys == 0 then return "{}" end
  table_sort(keys)
  for i, k in ipairs(keys) do
    local x = v[k]
    if x == nil then x = v[tonumber(k)] end
    parts[i] = inner .. exa.json_encode(k) .. ": " .. M.pretty(x, inner)
  end
  return "{\n" .. table_concat(parts, ",\n") .. "\n" .. indent .. "}"
end

--- One line of JSON (NDJSON).
function M.json_line(v)
  local s = exa.json_encode(v)
  return s or exa.json_encode({ error = "cannot encode" })
end

function M.cost_line(run)
  local c = type(run.costDollars) == "table" and run.costDollars or {}
  local u = type(run.usage) == "table" and run.usage or {}
  local parts = {}
  local function part(label, dollars, n, one, many)
    if type(dollars) == "number" and dollars > 0 then
      parts[#parts + 1] = string_format("%s %s%s", label, money(dollars),
        n and string_format(" (%s %s)", tostring(n), n == 1 and one or many) or "")
    end
  end
  part("agent compute", c.agentCompute, u.agentComputeUnits, "ACU", "ACU")
  part("search", c.search, u.searches, "search", "searches")
  part("emails", c.emails, u.emails, "email", "emails")
  part("phone numbers", c.phoneNumbers, u.phoneNumbers, "number", "numbers")
  if type(c.dataSources) == "table" then
    for p, d in pairs(c.dataSources) do part(p, d) end
  end
  return string_format("cost %s%s", money(c.total), #parts > 0 and (": " .. table_concat(parts, ", ")) or "")
end

-- The citations of every field, grouped by field.
local function citations(out, run)
  local list = exa.citations(run)
  if #list == 0 then return end
  out[#out + 1] = ""
  out[#out + 1] = "Citations:"
  for _, g in ipairs(list) do
    local extra = {}
    if type(g.confidence) == "string" then extra[#extra + 1] = g.confidence end
    out[#out + 1] = string_format("  %s%s", str(g.field), #extra > 0 and (" (" .. table_concat(extra, ", ") .. ")") or "")
    for _, c in ipairs(type(g.citations) == "table" and g.citations or {}) do
      local title = type(c.title) == "string" and c.title ~= "" and (one_line(c.title, 80) .. " ") or ""
      out[#out + 1] = string_format("    - %s<%s>", title, str(c.url))
    end
  end
end

--- A run for people: its answer, structured result, citations, cost.
function M.run(run, opts)
  opts = opts or {}
  local out = {}
  local o = type(run.output) == "table" and run.output or {}
  if opts.header then
    local req = type(run.request) == "table" and run.request or {}
    out[#out + 1] = string_format("run      %s", str(run.id))
    out[#out + 1] = string_format("status   %s%s", str(run.status),
      type(run.stopReason) == "string" and (" (" .. run.stopReason .. ")") or "")
    if req.query then out[#out + 1] = "query    " .. one_line(req.query, 100) end
    if req.effort then out[#out + 1] = "effort   " .. str(req.effort) end
    out[#out + 1] = "created  " .. str(run.createdAt)
    if type(run.completedAt) == "string" then out[#out + 1] = "ended    " .. run.completedAt end
    out[#out + 1] = ""
  end
  if type(o.text) == "string" and o.text ~= "" then
    out[#out + 1] = o.text
  end
  if o.structured ~= nil and o.structured ~= exa.null then
    out[#out + 1] = ""
    out[#out + 1] = "Structured result:"
    out[#out + 1] = M.pretty(o.structured)
    local ok, errs = exa.check_output(run, nil, { allow_null = true })
    if not ok then
      out[#out + 1] = ""
      out[#out + 1] = "Does not match the outputSchema:"
      for i, e in ipairs(errs) do
        if i > 10 then out[#out + 1] = "  ..." break end
        out[#out + 1] = "  " .. e.path .. ": " .. e.message
      end
    end
  end
  citations(out, run)
  out[#out + 1] = ""
  local why = type(run.stopReason) == "string" and (" (" .. run.stopReason .. ")") or ""
  out[#out + 1] = string_format("run %s %s%s; %s", str(run.id), str(run.status), why, M.cost_line(run))
  return table_concat(out, "\n") .. "\n"
end

--- A run in a list: id, status, effort, cost, created, query.
function M.list_row(run)
  local req = type(run.request) == "table" and run.request or {}
  local c = type(run.costDollars) == "table" and run.costDollars or {}
  return string_format("%-36s %-9s %-7s %-10s %-24s %s", str(run.id), str(run.status), str(req.effort or "auto"),
    money(c.total), str(run.createdAt), one_line(req.query, 60))
end

function M.list_header()
  return string_format("%-36s %-9s %-7s %-10s %-24s %s", "ID", "STATUS", "EFFORT", "COST", "CREATED", "QUERY")
end

--- What an event says, on one line.
function M.event(ev)
  local d = type(ev.data) == "table" and ev.data or {}
  local detail = ""
  if type(d.text) == "string" then
    detail = d.text
  elseif type(d.source) == "table" then
    detail = str(d.source.title or d.source.url)
  elseif type(d.item) == "table" then
    detail = str(d.item.name or d.item.type) .. " " .. str(d.item.status)
  elseif type(d.error) == "table" then
    detail = str(d.error.code) .. ": " .. str(d.error.message)
  elseif d.status then
    detail = str(d.status)
    if type(d.costDollars) == "table" then detail = detail .. ", " .. M.cost_line(d) end
  end
  return string_format("%4s  %-28s %s", str(ev.id), str(ev.event), one_line(detail, 100))
end

function M.estimate(est)
  local lines = {}
  if est.max_dollars == math_huge then
    lines[1] = string_format("%s or more, no upper bound (effort %s)", money(est.min_dollars), str(est.effort))
  elseif est.min_dollars == est.max_dollars then
    lines[1] = string_format("%s (effort %s)", money(est.max_dollars), str(est.effort))
  else
    lines[1] = string_format("%s to %s (effort %s)", money(est.min_dollars), money(est.max_dollars), str(est.effort))
  end
  local function enrich(n, what, price)
    if n == math_huge then
      lines[#lines + 1] = string_format("  %s: unbounded (an array without maxItems holds them), %s each", what,
        money(price))
    elseif n > 0 then
      lines[#lines + 1] = string_format("  %s: up to %d at %s each", what, n, money(price))
    end
  end
  enrich(est.emails, "emails", exa.PRICES.email)
  enrich(est.phone_numbers, "phone numbers", exa.PRICES.phone_number)
  return table_concat(lines, "\n") .. "\n"
end

-- Progress ---------------------------------------------------------------------

local Progress = {}
Progress.__index = Progress

--- A one-line display on stderr (only when on is true).
function M.progress(on, now)
  return setmetatable({ on = on, now = now, t0 = now(), shown = "", events = 0, searches = 0, sources = 0,
    status = "starting", id = nil }, Progress)
end

function Progress:event(ev)
  self.events = self.events + 1
  local d = type(ev.data) == "table" and ev.data or {}
  if ev.event == "agent_run.search_trace" then self.searches = self.searches + 1 end
  if ev.event == "agent_run.source.added" then self.sources = self.sources + 1 end
  if type(d.status) == "string" then self.status = d.status end
  if type(d.id) == "string" and not self.id then self.id = d.id end
end

function Progress:draw()
  if not self.on then return end
  local line = string_format("%s %s  %d event%s, %d search%s, %d source%s  %.1fs",
    self.id or "(creating)", self.status, self.events, self.events == 1 and "" or "s",
    self.searches, self.searches == 1 and "" or "es", self.sources, self.sources == 1 and "" or "s",
    self.now() - self.t0)
  if line == self.shown then return end
  self.shown = line
  io_stderr:write("\r\27[K", line)
  io_stderr:flush()
end

function Progress:clear()
  if self.on and self.shown ~= "" then
    io_stderr:write("\r\27[K")
    io_stderr:flush()
    self.shown = ""
  end
end

return M
