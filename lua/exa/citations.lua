-- exa.citations: a run's field-level citations (output.grounding).
--
--   exa.citations(run)                              --> every grounding entry
--   exa.citations(run, "companies[0].sourceUrl")    --> the entries of that field
--   exa.citations(run, "structured.companies[0]")   --> ... and of the fields under it
--
-- An entry is {field = "structured.companies[0].sourceUrl", citations = {{url=, title=}, ...},
-- confidence = ..., ...} as the API sends it. A field may be written with or
-- without the leading "structured" (the grounding's own spelling); "text" is
-- the answer text's entry (a structured property named text is
-- "structured.text"). run may also be a completed event's data or a
-- run's output table.
local type, ipairs = type, ipairs
local string_sub = string.sub

local errors = require "exa.errors"
local json = require "exa.wire.json"

local M = {}

-- The spelling grounding uses: "structured.x", "structured[0]", or "text".
local function canonical(field)
  if field == "text" or field == "structured" then return field end
  if string_sub(field, 1, 10) == "structured" then
    local c = string_sub(field, 11, 11)
    if c == "." or c == "[" then return field end
  end
  if string_sub(field, 1, 1) == "[" then return "structured" .. field end
  if string_sub(field, 1, 1) == "." then return "structured" .. field end
  return "structured." .. field
end

-- Is path the field itself or a field under it?
local function under(path, field)
  if path == field then return true end
  if #path <= #field or string_sub(path, 1, #field) ~= field then return false end
  local c = string_sub(path, #field + 1, #field + 1)
  return c == "." or c == "["
end

local function grounding_of(run)
  local out = run.output
  if type(out) ~= "table" then out = run end -- an output table itself
  local g = out.grounding
  if type(g) ~= "table" then return {} end
  return g
end

function M.citations(run, field)
  if type(run) ~= "table" then
    errors.invalid("run", "citations needs a run table, got " .. type(run))
  end
  if field ~= nil and (type(field) ~= "string" or field == "") then
    errors.invalid("field", "field must be a non-empty string such as \"companies[0].sourceUrl\"")
  end
  local want = field and canonical(field)
  local list = json.array()
  for _, g in ipairs(grounding_of(run)) do
    if type(g) == "table" and (not want or (type(g.field) == "string" and under(canonical(g.field), want))) then
      list[#list + 1] = g
    end
  end
  return list
end

M.canonical = canonical

return M
