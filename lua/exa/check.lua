-- exa.check: does a run's output.structured match the schema that was sent?
--
--   local ok, errs = exa.check_output(run[, schema[, {allow_null = true}]])
--   --> true, or nil and a list of {path = "structured.companies[0].sourceUrl", message = "..."}
--
-- schema defaults to run.request.outputSchema. Paths name fields the way
-- output.grounding does, so exa.citations(run, err.path) finds the sources
-- of a bad field. The API documents that "fields unsupported by evidence may
-- be returned as null": allow_null = true accepts null anywhere below the
-- root. The validator is exa.schema, the one the simulator uses.
local type, getmetatable, tostring = type, getmetatable, tostring

local json = require "exa.json"
local errors = require "exa.errors"
local schema = require "exa.schema"

local M = {}

--- exa.schema bound to the client's values: decoded JSON (exa.null, arrays
--- marked by exa.json) and plain Lua tables (a list is a table whose [1] is
--- set; an empty plain table is an object unless exa.array marks it).
M.validator = schema.new{
  null = json.null,
  is_array = function(v)
    return json.is_array(v) or (type(v) == "table" and getmetatable(v) == nil and v[1] ~= nil)
  end,
}
local S = M.validator

function M.check_output(run, sch, opts)
  if type(run) ~= "table" then
    errors.invalid("run", "check_output needs a run table (or a completed event's data), got " .. type(run))
  end
  opts = opts or {}
  if sch == nil and type(run.request) == "table" then sch = run.request.outputSchema end
  if sch == nil or sch == json.null then return true end
  if type(sch) ~= "table" then
    errors.invalid("schema", "the schema must be a JSON Schema table, got " .. type(sch))
  end
  local bad = S.check(sch)
  if bad then errors.invalid("schema", "the schema is not usable: " .. tostring(bad)) end
  local out = type(run.output) == "table" and run.output or {}
  local v = out.structured
  if v == nil or v == json.null then
    return nil, { { path = "structured", message = "output.structured is null: the run returned no structured result" } }
  end
  local errs = S.errors(sch, v, { path = "structured", allow_null = opts.allow_null == true, max = opts.max })
  if #errs == 0 then return true end
  return nil, errs
end

return M
