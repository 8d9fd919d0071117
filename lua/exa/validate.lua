-- exa.validate: reject bad input before any byte is sent. Each check raises
-- a "validation" error object naming the field. Only what we know is
-- checked: unknown fields and unknown enum strings (new effort levels) pass.
local type, pairs, next, tostring = type, pairs, next, tostring
local string_format, string_find = string.format, string.find
local math_floor, math_huge = math.floor, math.huge

local errors = require "exa.errors"
local json = require "exa.json"

local invalid = errors.invalid
local M = {}

local function describe(v)
  local t = type(v)
  if t == "string" then
    if #v > 40 then v = v:sub(1, 40) .. "..." end
    return string_format("%q", v)
  elseif t == "number" or t == "boolean" then
    return tostring(v)
  elseif v == json.null then
    return "null"
  end
  return "a " .. t
end
M.describe = describe

function M.is_integer(v)
  return type(v) == "number" and v == math_floor(v) and v ~= math_huge and v ~= -math_huge
end

--- A run id (path parameter or previousRunId).
function M.id(v, field)
  field = field or "id"
  if type(v) ~= "string" then
    invalid(field, string_format("%s must be a string run id, got %s", field, describe(v)))
  end
  if #v < 1 or #v > 200 then
    invalid(field, string_format("%s must be 1 to 200 characters long, got %d", field, #v))
  end
  if not string_find(v, "^[A-Za-z0-9_.:-]+$") then
    invalid(field, string_format("%s %s may only contain A-Z a-z 0-9 _ . : -", field, describe(v)))
  end
  return v
end

function M.limit(v, field)
  field = field or "limit"
  if v == nil then return nil end
  if not M.is_integer(v) or v < 1 or v > 100 then
    invalid(field, string_format("%s must be an integer from 1 to 100, got %s", field, describe(v)))
  end
  return v
end

function M.cursor(v, field)
  field = field or "cursor"
  if v == nil then return nil end
  if type(v) ~= "string" or v == "" then
    invalid(field, string_format("%s must be a non-empty string, got %s", field, describe(v)))
  end
  return v
end

--- Something that goes into an HTTP header: no CR, LF or NUL (no header injection).
function M.header_value(v, field)
  if type(v) == "number" and M.is_integer(v) then v = string_format("%d", v) end
  if type(v) ~= "string" then
    invalid(field, string_format("%s must be a string, got %s", field, describe(v)))
  end
  if string_find(v, "[%z\r\n]") then
    invalid(field, field .. " must not contain CR, LF or NUL")
  end
  return v
end

--- A map of header name -> value (false or exa.null: remove the header).
function M.headers(t, field)
  if type(t) ~= "table" then
    invalid(field, string_format("%s must be a table of name = value, got %s", field, describe(t)))
  end
  for k, v in pairs(t) do
    M.header_value(k, "header name")
    if v ~= false and v ~= json.null then M.header_value(v, "header " .. tostring(k)) end
  end
  return t
end

function M.last_event_id(v, field)
  field = field or "last_event_id"
  if v == nil then return nil end
  if type(v) ~= "string" and not M.is_integer(v) then
    invalid(field, string_format("%s must be a string or an integer, got %s", field, describe(v)))
  end
  return M.header_value(v, field)
end

--- An optional options table.
function M.table_or_nil(v, field)
  if v ~= nil and type(v) ~= "table" then
    invalid(field, string_format("%s must be a table, got %s", field, describe(v)))
  end
  return v or {}
end

local function check_records(v, field)
  if v == nil or v == json.null then return end
  if type(v) ~= "table" then
    invalid(field, string_format("%s must be an array of records, got %s", field, describe(v)))
  end
  for k, rec in pairs(v) do
    if not M.is_integer(k) or k < 1 then
      invalid(field, string_format("%s must be an array (found key %s)", field, describe(k)))
    end
    if type(rec) ~= "table" then
      invalid(field .. "[" .. k .. "]", string_format("%s[%d] must be a record table, got %s",
        field, k, describe(rec)))
    end
  end
end

--- The body of create/stream. Checks the fields the API defines; leaves the rest.
function M.create_params(p)
  if type(p) ~= "table" then
    invalid("params", "params must be a table with at least query, got " .. describe(p))
  end
  local q = p.query
  if q == nil then invalid("query", "query is required") end
  if type(q) ~= "string" then invalid("query", "query must be a string, got " .. describe(q)) end
  if q == "" then invalid("query", "query must not be empty") end
  if p.systemPrompt ~= nil and type(p.systemPrompt) ~= "string" then
    invalid("systemPrompt", "systemPrompt must be a string, got " .. describe(p.systemPrompt))
  end
  if p.effort ~= nil and type(p.effort) ~= "string" then
    invalid("effort", "effort must be a string such as \"low\" or \"auto\", got " .. describe(p.effort))
  end
  local s = p.outputSchema
  if s ~= nil and s ~= json.null and type(s) ~= "table" then
    invalid("outputSchema", "outputSchema must be a JSON Schema table, got " .. describe(s))
  end
  if p.previousRunId ~= nil then M.id(p.previousRunId, "previousRunId") end
  local md = p.metadata
  if md ~= nil then
    if type(md) ~= "table" or json.is_array(md) and next(md) ~= nil then
      invalid("metadata", "metadata must be a table of string keys to string values, got " .. describe(md))
    end
    for k, v in pairs(md) do
      if type(k) ~= "string" then
        invalid("metadata", "metadata keys must be strings, got " .. describe(k))
      end
      if type(v) ~= "string" then
        invalid("metadata." .. k, string_format("metadata.%s must be a string, got %s", k, describe(v)))
      end
    end
  end
  local input = p.input
  if input ~= nil and input ~= json.null then
    if type(input) ~= "table" then
      invalid("input", "input must be a table {data=, exclusion=}, got " .. describe(input))
    end
    check_records(input.data, "input.data")
    check_records(input.exclusion, "input.exclusion")
  end
  local ds = p.dataSources
  if ds ~= nil and ds ~= json.null and type(ds) ~= "table" then
    invalid("dataSources", "dataSources must be an array, got " .. describe(ds))
  end
  return p
end

return M
