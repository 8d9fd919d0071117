-- exa.validate: reject bad input before any byte is sent. Each check raises
-- a "validation" error object naming the field. Only what we know is
-- checked: unknown fields and unknown enum strings (new effort levels) pass;
-- a field that differs from a known one only by case, "_" or "-" is a typo
-- and is rejected with the right spelling. A message that quotes a value
-- hands the value to errors.invalid too, so the client can scrub the API
-- key from all of it (errors.redact).
local type, pairs, ipairs, next, tostring = type, pairs, ipairs, next, tostring
local string_format, string_find, string_lower, string_gsub, string_byte =
  string.format, string.find, string.lower, string.gsub, string.byte
local math_floor, math_huge = math.floor, math.huge

local errors = require "exa.errors"
local api = require "exa.api"
local json = require "exa.json"

local invalid = errors.invalid
local M = {}

local describe = errors.describe
M.describe = describe

-- Durations: curl counts milliseconds (so less than 1 ms is no timeout at
-- all), and the core takes at most 2e9 ms. Every duration option is a
-- finite number in [min, MAX_SECONDS].
M.MIN_TIMEOUT = 0.001
M.MAX_SECONDS = 2e6

function M.is_integer(v)
  return type(v) == "number" and v == math_floor(v) and v ~= math_huge and v ~= -math_huge
end

--- A method called with a dot instead of a colon: `client.runs.create{...}`
--- passes the params as self. obj is how the user reaches the object
--- ("client.runs", "client"), name the method.
function M.colon(obj, name)
  invalid("self", string_format("call %s:%s(...) with a colon: %s.%s(...) passes no self", obj, name, obj, name))
end

--- fn, guarded: raises M.colon unless its first argument passes is_self.
function M.method(obj, name, fn, is_self)
  return function(me, ...)
    if not is_self(me) then M.colon(obj, name) end
    return fn(me, ...)
  end
end

--- A run id (path parameter or previousRunId).
function M.id(v, field)
  field = field or "id"
  if type(v) ~= "string" then
    invalid(field, string_format("%s must be a string run id, got %s", field, describe(v)), v)
  end
  if #v < 1 or #v > 200 then
    invalid(field, string_format("%s must be 1 to 200 characters long, got %d", field, #v))
  end
  if not string_find(v, api.RUN_ID_PATTERN) then
    invalid(field, string_format("%s %s may only contain A-Z a-z 0-9 _ . : -", field, describe(v)), v)
  end
  -- "." and ".." are dot segments: the URL layer removes them, so
  -- delete(".") would send DELETE /agent/runs/ and cancel("..") POST
  -- /agent/cancel. No run id is only dots.
  if not string_find(v, "[^.]") then
    invalid(field, string_format("%s %s is only dots, which a URL path drops: not a run id",
      field, describe(v)), v)
  end
  return v
end

function M.limit(v, field)
  field = field or "limit"
  if v == nil then return nil end
  if not M.is_integer(v) or v < 1 or v > 100 then
    invalid(field, string_format("%s must be an integer from 1 to 100, got %s", field, describe(v)), v)
  end
  return v
end

function M.cursor(v, field)
  field = field or "cursor"
  if v == nil then return nil end
  if type(v) ~= "string" or v == "" then
    invalid(field, string_format("%s must be a non-empty string, got %s", field, describe(v)), v)
  end
  return v
end

--- Something that goes into an HTTP header: no CR, LF or NUL (no header injection).
function M.header_value(v, field)
  if type(v) == "number" and M.is_integer(v) then v = string_format("%d", v) end
  if type(v) ~= "string" then
    invalid(field, string_format("%s must be a string, got %s", field, describe(v)), v)
  end
  if string_find(v, "[%z\r\n]") then
    invalid(field, field .. " must not contain CR, LF or NUL")
  end
  return v
end

--- A map of header name -> value (false or exa.null: remove the header).
function M.headers(t, field)
  if type(t) ~= "table" then
    invalid(field, string_format("%s must be a table of name = value, got %s", field, describe(t)), t)
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
    invalid(field, string_format("%s must be a string or an integer, got %s", field, describe(v)), v)
  end
  return M.header_value(v, field)
end

--- An optional options table.
function M.table_or_nil(v, field)
  if v ~= nil and type(v) ~= "table" then
    invalid(field, string_format("%s must be a table, got %s", field, describe(v)), v)
  end
  return v or {}
end

--- The first byte of s that starts no valid UTF-8 sequence (RFC 3629:
--- no overlong forms, no surrogates, nothing above U+10FFFF, no cut
--- sequence): its position (1-based, as string.sub counts) and value; nil
--- when s is valid. ASCII runs are skipped by string.find.
function M.utf8_error(s)
  local i = string_find(s, "[\128-\255]")
  while i do
    local c = string_byte(s, i)
    local need, lo, hi = 2, 0x80, 0xBF
    if c >= 0xC2 and c <= 0xDF then need, lo, hi = 1, 0x80, 0xBF
    elseif c == 0xE0 then lo = 0xA0
    elseif c == 0xED then hi = 0x9F
    elseif c >= 0xE1 and c <= 0xEF then need = 2
    elseif c == 0xF0 then need, lo = 3, 0x90
    elseif c >= 0xF1 and c <= 0xF3 then need = 3
    elseif c == 0xF4 then need, hi = 3, 0x8F
    else return i, c end
    local c2 = string_byte(s, i + 1)
    if not c2 or c2 < lo or c2 > hi then return i, c end
    for j = i + 2, i + need do
      local cj = string_byte(s, j)
      if not cj or cj < 0x80 or cj > 0xBF then return i, c end
    end
    i = string_find(s, "[\128-\255]", i + need + 1)
  end
  return nil
end

local function show_bound(x)
  if x == math_floor(x) then return string_format("%d", x) end
  return string_format("%g", x)
end

--- A duration in seconds: a finite number from min to max (default
--- MAX_SECONDS). NaN, inf and non-numbers are rejected here, never handed
--- to the core.
function M.seconds(v, field, min, max)
  max = max or M.MAX_SECONDS
  if type(v) ~= "number" or v ~= v or v < min or v > max then
    invalid(field, string_format("%s must be a number of seconds from %s to %s, got %s", field,
      show_bound(min), show_bound(max), describe(v)), v)
  end
  return v
end

--- A count such as max_retries: a non-negative integer.
function M.count(v, field)
  if not M.is_integer(v) or v < 0 then
    invalid(field, string_format("%s must be a non-negative integer, got %s", field, describe(v)), v)
  end
  return v
end

--- Per-call options {headers=, timeout=, max_retries=} of every runs method
--- (other keys are left to the caller). Returns the table ({} for nil).
function M.call_options(opts)
  opts = M.table_or_nil(opts, "options")
  if opts.headers ~= nil then M.headers(opts.headers, "options.headers") end
  if opts.timeout ~= nil then M.seconds(opts.timeout, "options.timeout", M.MIN_TIMEOUT) end
  if opts.max_retries ~= nil then M.count(opts.max_retries, "options.max_retries") end
  return opts
end

local function check_records(v, field)
  if v == nil or v == json.null then return end
  if type(v) ~= "table" then
    invalid(field, string_format("%s must be an array of records, got %s", field, describe(v)), v)
  end
  for k, rec in pairs(v) do
    if not M.is_integer(k) or k < 1 then
      invalid(field, string_format("%s must be an array (found key %s)", field, describe(k)), k)
    end
    if type(rec) ~= "table" then
      invalid(field .. "[" .. k .. "]", string_format("%s[%d] must be a record table, got %s",
        field, k, describe(rec)), rec)
    end
  end
end

-- The create fields the API defines: the contract (beta agent-2026-05-07)
-- and the post-beta reference (budget, dataSources), with the names inside
-- the objects the API defines. Records (input.data[i]), metadata keys and
-- the JSON Schema are the caller's own names and are not checked.
local CREATE_FIELDS = {
  "query", "systemPrompt", "input", "outputSchema", "effort", "previousRunId", "metadata",
  "budget", "dataSources",
}
local INPUT_FIELDS = { "data", "exclusion" }
local BUDGET_FIELDS = { "maxCostDollars", "maxDurationSeconds" }
local DATA_SOURCE_FIELDS = { "provider" }

-- The spelling a near miss is folded to: lower case, no "_" or "-".
local function fold(name)
  return (string_gsub(string_lower(name), "[_%-]", ""))
end

local function by_fold(names)
  local t = {}
  for _, n in ipairs(names) do t[fold(n)] = n end
  return t
end
local CREATE_BY_FOLD = by_fold(CREATE_FIELDS)
local INPUT_BY_FOLD = by_fold(INPUT_FIELDS)
local BUDGET_BY_FOLD = by_fold(BUDGET_FIELDS)
local DATA_SOURCE_BY_FOLD = by_fold(DATA_SOURCE_FIELDS)

-- A key of t that is not a known name but folds to one is a typo the API
-- would ignore (the run completes with structured = null): reject it.
-- Keys that fold to no known name pass through untouched.
local function check_spelling(t, known, prefix)
  for k in pairs(t) do
    if type(k) == "string" then
      local right = known[fold(k)]
      if right and right ~= k then
        invalid(prefix .. k, string_format(
          "%s%s is not a field the API knows: did you mean %s%s? (names are camelCase, exactly)",
          prefix, k, prefix, right))
      end
    end
  end
end

--- Near misses of the known create field names, top level and nested.
function M.field_names(p)
  check_spelling(p, CREATE_BY_FOLD, "")
  if type(p.input) == "table" then check_spelling(p.input, INPUT_BY_FOLD, "input.") end
  if type(p.budget) == "table" then check_spelling(p.budget, BUDGET_BY_FOLD, "budget.") end
  local ds = p.dataSources
  if type(ds) == "table" then
    for i, src in pairs(ds) do
      if type(src) == "table" then
        check_spelling(src, DATA_SOURCE_BY_FOLD, "dataSources[" .. tostring(i) .. "].")
      end
    end
  end
end

--- The body of create/stream. Checks the fields the API defines; leaves the
--- rest. Effort: any string (the API adds levels: minimal, max, ultra ...).
--- Depth, cycles and UTF-8 of every string are checked by exa.body's copy.
function M.create_params(p)
  if type(p) ~= "table" then
    invalid("params", "params must be a table with at least query, got " .. describe(p), p)
  end
  M.field_names(p)
  local q = p.query
  if q == nil then invalid("query", "query is required") end
  if type(q) ~= "string" then invalid("query", "query must be a string, got " .. describe(q), q) end
  if q == "" then invalid("query", "query must not be empty") end
  if p.systemPrompt ~= nil and type(p.systemPrompt) ~= "string" then
    invalid("systemPrompt", "systemPrompt must be a string, got " .. describe(p.systemPrompt), p.systemPrompt)
  end
  if p.effort ~= nil and type(p.effort) ~= "string" then
    invalid("effort", "effort must be a string such as \"low\" or \"auto\", got " .. describe(p.effort),
      p.effort)
  end
  local s = p.outputSchema
  if s ~= nil and s ~= json.null and type(s) ~= "table" then
    invalid("outputSchema", "outputSchema must be a JSON Schema table, got " .. describe(s), s)
  end
  if p.previousRunId ~= nil then M.id(p.previousRunId, "previousRunId") end
  local md = p.metadata
  if md ~= nil then
    if type(md) ~= "table" or json.is_array(md) and next(md) ~= nil then
      invalid("metadata", "metadata must be a table of string keys to string values, got " .. describe(md), md)
    end
    for k, v in pairs(md) do
      if type(k) ~= "string" then
        invalid("metadata", "metadata keys must be strings, got " .. describe(k), k)
      end
      if type(v) ~= "string" then
        invalid("metadata." .. k, string_format("metadata.%s must be a string, got %s", k, describe(v)), v)
      end
    end
  end
  local input = p.input
  if input ~= nil and input ~= json.null then
    if type(input) ~= "table" then
      invalid("input", "input must be a table {data=, exclusion=}, got " .. describe(input), input)
    end
    check_records(input.data, "input.data")
    check_records(input.exclusion, "input.exclusion")
  end
  local ds = p.dataSources
  if ds ~= nil and ds ~= json.null and type(ds) ~= "table" then
    invalid("dataSources", "dataSources must be an array, got " .. describe(ds), ds)
  end
  return p
end

return M
