-- exa.validate: the one place that checks what a caller passes, before any
-- byte is sent: the option tables of every public call (OPTIONS: an unknown
-- key names the nearest known one), create and list params, ids, headers,
-- durations, and schema use (check_output, the client-bound exa.schema).
-- Each check raises a "validation" error object naming the field. API
-- fields the library does not know, and unknown enum strings (new effort
-- levels), pass; near misses of known fields and this library's own names
-- for them are refused with the right name (see "Create fields"). A message
-- that quotes a value hands the value to errors.invalid too, so the client
-- can scrub the API key from all of it (errors.redact).
local type, pairs, ipairs, next, tostring, select, getmetatable =
  type, pairs, ipairs, next, tostring, select, getmetatable
local string_format, string_find, string_lower, string_gsub, string_byte, string_sub =
  string.format, string.find, string.lower, string.gsub, string.byte, string.sub
local math_floor, math_huge = math.floor, math.huge
local table_concat = table.concat

local errors = require "exa.errors"
local api = require "exa.api"
local json = require "exa.wire.json"

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

-- Option tables --------------------------------------------------------------
--
-- Every option table a public call takes is checked here against the names
-- that call knows (OPTIONS below): an unknown key is a validation error that
-- names the nearest known name, or says which other argument the key belongs
-- to (runs:run(params, {headers = ...}): headers go in its third table).

-- The spelling names are compared in: lower case, no "_" or "-".
local function fold(name)
  return (string_gsub(string_lower(name), "[_%-]", ""))
end
M.fold = fold

--- Edit distance of a and b (optimal string alignment: insert, delete,
--- substitute, swap two neighbours), or a number over `most` once the
--- lengths alone say it is over.
function M.distance(a, b, most)
  local la, lb = #a, #b
  most = most or math_huge
  if la - lb > most or lb - la > most then return most + 1 end
  local prev2, prev = nil, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    local cur = { [0] = i }
    local ca = string_byte(a, i)
    for j = 1, lb do
      local cb = string_byte(b, j)
      local v = prev[j - 1] + (ca == cb and 0 or 1)
      if prev[j] + 1 < v then v = prev[j] + 1 end
      if cur[j - 1] + 1 < v then v = cur[j - 1] + 1 end
      if i > 1 and j > 1 and ca == string_byte(b, j - 1) and string_byte(a, i - 1) == cb
        and prev2[j - 2] + 1 < v then
        v = prev2[j - 2] + 1
      end
      cur[j] = v
    end
    prev2, prev = prev, cur
  end
  return prev[lb]
end

-- How far a misspelling of a known name may stray: one edit for names of
-- up to 5 letters, two for longer ones (folded lengths).
local function reach(known)
  return #fold(known) <= 5 and 1 or 2
end

--- The known name key is a near miss of: the same once folded (case, "_",
--- "-"), or within reach() edits of it. names: a list. Returns the name or nil.
function M.near(key, names)
  if type(key) ~= "string" then return nil end
  local fk, best, bd = fold(key), nil, math_huge
  for _, n in ipairs(names) do
    local fn = fold(n)
    if fn == fk then return n end
    local d = M.distance(fk, fn, 2)
    if d <= reach(n) and d < bd then best, bd = n, d end
  end
  return best
end

-- The name to suggest for a key no call knows: a near miss, else a known
-- name that contains the key or is contained in it (retries, max_retries).
-- A wider reach than near(): the table refuses the key anyway, so the
-- hint may be bolder (a third of the name's letters: max_retry).
local function suggest(key, names)
  local n = M.near(key, names)
  if n or type(key) ~= "string" or #key < 3 then return n end
  local fk = fold(key)
  local best, bd = nil, math_huge
  for _, name in ipairs(names) do
    local fn = fold(name)
    if string_find(fn, fk, 1, true) or string_find(fk, fn, 1, true) then return name end
    local most = math_floor(#fn / 3)
    local d = M.distance(fk, fn, most)
    if d <= most and d < bd then best, bd = name, d end
  end
  return best
end

local function show_key(k)
  if type(k) == "string" and string_find(k, "^[%a_][%w_%-]*$") then return k end
  return describe(k)
end

local BASE = { "headers", "timeout", "max_retries" }
local function plus(list, ...)
  local t = {}
  for i, v in ipairs(list) do t[i] = v end
  for i = 1, select("#", ...) do t[#t + 1] = select(i, ...) end
  return t
end

local PER_CALL = "it is a per-call option, in the call's options table: runs:get(id, {headers = ...}), "
  .. "runs:list(params, {timeout = ...}), runs:wait(id, wait, {headers = ...})"
local IN_WAIT = "it is a wait option: runs:wait(id, {timeout =, interval =}), runs:run(params, {timeout =, interval =})"
local IN_PAGE = "it is a list parameter, in the first table: runs:list{limit =, cursor =}"
local IN_RUN_OPTS = "it belongs in runs:run's third table, the per-call options: "
  .. "runs:run(params, {timeout =, interval =}, {headers =, max_retries =})"
local IN_WAIT_OPTS = "it belongs in runs:wait's third table, the per-call options: "
  .. "runs:wait(id, {timeout =, interval =}, {headers =, max_retries =})"
local IN_CREATE = "it is a create field, in the params table: runs:create{query =, effort =, outputSchema =}"

-- Each option table of the public API: where (for messages), the field
-- prefix of errors, the names it takes, and keys that belong elsewhere.
local function spec(where, prefix, names, elsewhere)
  return { where = where, prefix = prefix, names = names, elsewhere = elsewhere or {} }
end
local CALL_HINTS = {
  limit = IN_PAGE, cursor = IN_PAGE, interval = IN_WAIT,
  last_event_id = "it is a replay parameter, in the second table: runs:replay(id, {last_event_id = ...})",
  query = IN_CREATE, effort = IN_CREATE, outputSchema = IN_CREATE,
}

M.OPTIONS = {
  new = spec("exa.new", "", {
    "api_key", "base_url", "betas", "timeout", "headers", "auth", "max_retries", "ca_file",
    "connect_timeout", "stream_idle_timeout", "retry_base_delay", "retry_max_delay", "max_retry_after",
    "retry_concurrency_limit", "sleep", "on_retry", "budget", "loop", "transport", "create_marker", "api",
  }, { key = "did you mean api_key?", max_dollars = "it is a budget option: exa.new{budget = {max_dollars = ...}}",
    limit = IN_PAGE, interval = IN_WAIT, marker = "it is a per-call option of create (create_marker here)" }),
  budget = spec("exa.new's budget", "budget.", { "max_dollars" }, {
    maxCostDollars = "it is the API's per-run cap, a create field (runs:create{query =, budget = {maxCostDollars "
      .. "= ...}}); exa.new's budget takes max_dollars, the client's total",
  }),
  call = spec("the per-call options", "options.", BASE, CALL_HINTS),
  create = spec("runs:create's options", "options.", plus(BASE, "marker"), CALL_HINTS),
  stream = spec("runs:stream's options", "options.", plus(BASE, "marker", "resume"), CALL_HINTS),
  replay = spec("runs:replay's options", "options.", plus(BASE, "resume"), CALL_HINTS),
  replay_params = spec("runs:replay's second table", "", { "last_event_id" }, {
    headers = PER_CALL, timeout = PER_CALL, max_retries = PER_CALL,
    resume = "it is a replay option, in the third table: runs:replay(id, params, {resume = ...})",
  }),
  wait_params = spec("runs:wait's second table", "", { "timeout", "interval" },
    { headers = IN_WAIT_OPTS, max_retries = IN_WAIT_OPTS }),
  run_wait = spec("runs:run's second table", "", { "timeout", "interval" },
    { headers = IN_RUN_OPTS, max_retries = IN_RUN_OPTS, marker = IN_RUN_OPTS,
      query = "it is a create field: runs:run's first table holds the params" }),
  run = spec("runs:run's options", "options.", plus(BASE, "marker"), CALL_HINTS),
  batch = spec("runs:batch's options", "options.", { "concurrency", "on_event", "headers" },
    { timeout = "each run streams to its end: batch takes concurrency, on_event, headers",
      max_retries = "batch takes concurrency, on_event, headers (exa.new{max_retries =} sets retries)" }),
  estimate = spec("exa.estimate's options", "", { "api" }),
  check_budget = spec("exa.check_budget's options", "", { "api", "spent", "reserved", "budget" }),
  check_output = spec("exa.check_output's options", "", { "allow_null", "max" }),
  schema_errors = spec("exa.schema.errors' options", "", { "root", "path", "max", "allow_null" }),
  loop = spec("exa.loop", "", { "uv", "cqueues", "on_error", "wait" }),
}

-- the runs methods that take just the per-call options
for _, m in ipairs{ "get", "cancel", "delete", "stop", "list", "events", "iter", "iter_events", "wait",
  "find_marker" } do
  M.OPTIONS[m] = spec("runs:" .. m .. "'s options", "options.", BASE, CALL_HINTS)
end

--- Check the keys of option table t against OPTIONS[call] (t is already a
--- table). An unknown key raises a validation error naming the nearest
--- known name, the argument it belongs to, or every name the table takes.
function M.known_keys(t, call)
  local s = M.OPTIONS[call]
  local names = s.names
  local set = s.set
  if not set then
    set = {}
    for _, n in ipairs(names) do set[n] = true end
    s.set = set
  end
  for k in pairs(t) do
    if not set[k] then
      local field = s.prefix .. (type(k) == "string" and k or tostring(k))
      local where = s.elsewhere[k]
      local msg
      if where then
        msg = string_format("%s%s is not an option of %s: %s", s.prefix, show_key(k), s.where, where)
      else
        local near = suggest(k, names)
        if near then
          msg = string_format("unknown option %s%s for %s: did you mean %s%s?", s.prefix, show_key(k), s.where,
            s.prefix, near)
        else
          msg = string_format("unknown option %s%s for %s (it takes %s)", s.prefix, show_key(k), s.where,
            table_concat(names, ", "))
        end
      end
      invalid(field, msg, k)
    end
  end
  return t
end

--- An options table of call (a key of OPTIONS): nil gives {}; anything
--- but a table, or an unknown key, is a validation error.
function M.options(t, call)
  local s = M.OPTIONS[call]
  if t ~= nil and type(t) ~= "table" then
    -- the name errors have always used: "options", or "params" for the
    -- second tables of wait and replay
    local field = (call == "wait_params" or call == "replay_params") and "params" or "options"
    if s.prefix == "budget." then field = "budget" end
    invalid(field, string_format("%s must be a table (%s), got %s", field, s.where, describe(t)), t)
  end
  if t == nil then return {} end
  return M.known_keys(t, call)
end

--- Per-call options {headers=, timeout=, max_retries=} of a runs method;
--- call names its table in OPTIONS (default "call": just those three), so
--- create adds marker, stream marker and resume. Returns the table ({}
--- for nil).
function M.call_options(opts, call)
  opts = M.options(opts, call or "call")
  if opts.headers ~= nil then M.headers(opts.headers, "options.headers") end
  if opts.timeout ~= nil then M.seconds(opts.timeout, "options.timeout", M.MIN_TIMEOUT) end
  if opts.max_retries ~= nil then M.count(opts.max_retries, "options.max_retries") end
  if opts.marker ~= nil and type(opts.marker) ~= "boolean" then
    invalid("options.marker", "options.marker must be a boolean, got " .. describe(opts.marker), opts.marker)
  end
  if opts.resume ~= nil and type(opts.resume) ~= "boolean" then
    invalid("options.resume", "options.resume must be a boolean, got " .. describe(opts.resume), opts.resume)
  end
  return opts
end

--- wait's (and run's) second table {timeout=, interval=}: checked, returned.
function M.wait_params(p, call)
  p = M.options(p, call or "wait_params")
  if p.timeout ~= nil then M.seconds(p.timeout, "timeout", 0) end
  if p.interval ~= nil then M.seconds(p.interval, "interval", M.MIN_TIMEOUT) end
  return p
end

-- List parameters: limit and cursor are checked; any other scalar is sent
-- as a query parameter (the API may add filters), except a near miss of
-- limit or cursor and this library's own option names (in any case, with or
-- without "_" and "-": lastEventId), which the API would ignore in silence.
local PAGE_NAMES = { "limit", "cursor" }
local PAGE_ELSEWHERE = {}
for k, hint in pairs{ headers = PER_CALL, timeout = PER_CALL, max_retries = PER_CALL, interval = IN_WAIT,
  last_event_id = "it is a replay parameter: runs:replay(id, {last_event_id = ...}); the JSON event "
    .. "pages take limit and cursor",
  resume = "it is an option of stream and replay: runs:stream(params, {resume = false})",
  marker = "it is a per-call option of create, stream and run: runs:create(params, {marker = false})",
} do
  PAGE_ELSEWHERE[fold(k)] = hint
end

--- A list call's params (list, iter, events, iter_events): the query table.
function M.page_query(params)
  params = M.table_or_nil(params, "params")
  local q = {}
  for k, v in pairs(params) do
    if k == "cursor" and v == json.null then
      -- the last page's nextCursor: no cursor (a loop on `while page.nextCursor` ends here)
      v = nil
    elseif type(k) ~= "string" then
      invalid("params", "list parameters must have string keys, got " .. describe(k), k)
    end
    if k ~= "limit" and k ~= "cursor" then
      local hint = PAGE_ELSEWHERE[fold(k)]
      if hint then
        invalid(k, string_format("%s is not a list parameter: %s", k, hint))
      end
      local near = M.near(k, PAGE_NAMES)
      if near then
        invalid(k, string_format("%s is not a list parameter the API knows: did you mean %s?", k, near))
      end
    end
    local tv = type(v)
    if v ~= nil and tv ~= "string" and tv ~= "number" and tv ~= "boolean" then
      invalid(k, string_format("%s must be a string, number or boolean, got %s", k, describe(v)), v)
    end
    q[k] = v
  end
  M.limit(params.limit, "limit")
  M.cursor(q.cursor, "cursor")
  return q
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

-- Create fields ---------------------------------------------------------------
--
-- The create fields the API defines: the contract (beta agent-2026-05-07)
-- and the post-beta reference (budget, dataSources), with the names inside
-- the objects the API defines. Records (input.data[i]), metadata keys and
-- the JSON Schema are the caller's own names and are not checked.
--
-- The rule for names the API does not define: they pass through unchanged
-- (the API adds fields), except
--   * a near miss of a known name: the same once case, "_" and "-" are
--     folded away, or one edit away (names up to 5 letters) or two (longer
--     ones): output_schema, Query, efort, previousRunID, data_source; but
--     not a known name with more after it (previousRunIds, budgetId): the
--     API may add such a field;
--   * the names this library's builder and CLI give fields (schema, system,
--     previous, data, exclude, ...) and its per-call options (headers,
--     timeout, max_retries, ...): each is refused with the name to use.
-- A refused name would be dropped by the API in silence: the run would
-- complete without what it asked for (structured = null).
local CREATE_FIELDS = {
  "query", "systemPrompt", "input", "outputSchema", "effort", "previousRunId", "metadata",
  "budget", "dataSources",
}
M.CREATE_FIELDS = CREATE_FIELDS
local INPUT_FIELDS = { "data", "exclusion" }
local BUDGET_FIELDS = { "maxCostDollars", "maxDurationSeconds" }
local DATA_SOURCE_FIELDS = { "provider" }

local OPT_HINT = "it is a per-call option, in the options table that follows the params: "
  .. "runs:create(params, {%s = ...}), runs:stream(params, {%s = ...}), runs:run(params, wait, {%s = ...})"
local WAIT_HINT = "it is a wait option: runs:run(params, {%s = ...}), runs:wait(id, {%s = ...})"

-- top-level aliases: name -> the field to use
local CREATE_ALIASES = {
  schema = "outputSchema", json_schema = "outputSchema", response_schema = "outputSchema",
  output = "outputSchema",
  system = "systemPrompt", instructions = "systemPrompt",
  previous = "previousRunId", previous_run = "previousRunId", previous_id = "previousRunId",
  data = "input = {data = ...}", rows = "input = {data = ...}", records = "input = {data = ...}",
  exclude = "input = {exclusion = ...}", exclusion = "input = {exclusion = ...}",
  exclusions = "input = {exclusion = ...}",
  source = "dataSources", sources = "dataSources", data_source = "dataSources",
  max_dollars = "budget = {maxCostDollars = ...}", maxCostDollars = "budget = {maxCostDollars = ...}",
  maxDurationSeconds = "budget = {maxDurationSeconds = ...}",
  max_duration_seconds = "budget = {maxDurationSeconds = ...}",
  max_cost_dollars = "budget = {maxCostDollars = ...}",
}
-- top-level names of this library's options: where they go instead
local CREATE_ELSEWHERE = {
  headers = OPT_HINT, max_retries = OPT_HINT, marker = OPT_HINT,
  resume = "it is an option of stream and replay: runs:stream(params, {%s = false}), "
    .. "runs:replay(id, params, {%s = false})",
  timeout = WAIT_HINT, interval = WAIT_HINT,
}
local BUDGET_ALIASES = {
  max_dollars = "maxCostDollars", dollars = "maxCostDollars", cost = "maxCostDollars",
  max_cost = "maxCostDollars", seconds = "maxDurationSeconds", duration = "maxDurationSeconds",
  max_seconds = "maxDurationSeconds", timeout = "maxDurationSeconds",
}

-- A key of t that is not a known name but is a near miss of one, or an
-- alias: the API would ignore it, so reject it. Other keys pass through.
local function check_names(t, known, prefix, aliases, elsewhere)
  local set = {}
  for _, n in ipairs(known) do set[n] = true end
  for k in pairs(t) do
    if type(k) == "string" and not set[k] then
      local hint = elsewhere and elsewhere[k]
      if hint then
        invalid(prefix .. k, string_format("%s%s is not a create field: %s", prefix, k, (string_gsub(hint, "%%s", k))))
      end
      local right = aliases and aliases[k]
      if right then
        invalid(prefix .. k, string_format("%s%s is not a field the API knows: did you mean %s%s?",
          prefix, k, string_find(right, " = ", 1, true) and "" or prefix, right))
      end
      right = M.near(k, known)
      -- a known name with more after it (previousRunIds, outputSchemaId,
      -- budgetId) reads as a field of its own the API may add, not a slip
      if right and #k > #right and string_sub(k, 1, #right) == right then right = nil end
      if right then
        invalid(prefix .. k, string_format(
          "%s%s is not a field the API knows: did you mean %s%s? (names are camelCase, exactly)",
          prefix, k, prefix, right))
      end
    end
  end
end

--- Is name refused as a create field (see the rule above)? Raises the
--- validation error if so; builder:set uses it.
function M.create_field_name(name)
  local t = { [name] = true }
  check_names(t, CREATE_FIELDS, "", CREATE_ALIASES, CREATE_ELSEWHERE)
  return name
end

--- Near misses and aliases of the known create field names, top level and nested.
function M.field_names(p)
  check_names(p, CREATE_FIELDS, "", CREATE_ALIASES, CREATE_ELSEWHERE)
  if type(p.input) == "table" then check_names(p.input, INPUT_FIELDS, "input.") end
  if type(p.budget) == "table" then check_names(p.budget, BUDGET_FIELDS, "budget.", BUDGET_ALIASES) end
  local ds = p.dataSources
  if type(ds) == "table" then
    for i, src in pairs(ds) do
      if type(src) == "table" then
        check_names(src, DATA_SOURCE_FIELDS, "dataSources[" .. tostring(i) .. "].")
      end
    end
  end
end

--- The APIs the client knows: "beta" (the agent-2026-05-07 contract, the
--- default) and "post-beta" (the later reference pages: budget enforced).
M.APIS = { beta = true, ["post-beta"] = true }

function M.api(v, field)
  if v == nil then return "beta" end
  if not M.APIS[v] then
    invalid(field or "api", string_format("%s must be \"beta\" or \"post-beta\", got %s", field or "api",
      describe(v)), v)
  end
  return v
end

-- The post-beta API's range for budget.maxCostDollars.
M.MAX_COST_RANGE = { 1, 100 }

-- budget = {maxCostDollars =, maxDurationSeconds =}: the post-beta API
-- takes $1 to $100 and a duration > 0; the beta API accepts and ignores it.
local function check_budget_field(b, api)
  if b == nil then return end
  if type(b) ~= "table" or json.is_array(b) and next(b) ~= nil then
    invalid("budget", "budget must be a table {maxCostDollars =, maxDurationSeconds =}, got " .. describe(b), b)
  end
  local m = b.maxCostDollars
  if m ~= nil then
    if type(m) ~= "number" or m ~= m or m < 0 or m == math_huge then
      invalid("budget.maxCostDollars", "budget.maxCostDollars must be a number of dollars, got " .. describe(m), m)
    end
    local lo, hi = M.MAX_COST_RANGE[1], M.MAX_COST_RANGE[2]
    if api == "post-beta" and (m < lo or m > hi) then
      invalid("budget.maxCostDollars", string_format("budget.maxCostDollars must be from $%d to $%d on the "
        .. "post-beta API, got %s", lo, hi, describe(m)), m)
    end
  end
  local d = b.maxDurationSeconds
  if d ~= nil and (type(d) ~= "number" or d ~= d or d <= 0) then
    invalid("budget.maxDurationSeconds", "budget.maxDurationSeconds must be a number of seconds > 0, got "
      .. describe(d), d)
  end
end

--- The body of create/stream. Checks the fields the API defines; leaves the
--- rest. Effort: any string (the API adds levels: minimal, max, ultra ...).
--- Depth, cycles and UTF-8 of every string are checked by exa.wire.body's copy.
--- api: "beta" (default) or "post-beta", for the budget's range.
function M.create_params(p, api)
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
  check_budget_field(p.budget, api)
  return p
end

-- Schema use ------------------------------------------------------------------
--
-- exa.check_output(run[, schema[, {allow_null = true, max =}]]): does a
-- run's output.structured match the schema that was sent?
--   --> true, or nil and a list of {path = "structured.companies[0].sourceUrl", message = "..."}
--
-- schema defaults to run.request.outputSchema. Paths name fields the way
-- output.grounding does, so exa.citations(run, err.path) finds the sources
-- of a bad field. The API documents that "fields unsupported by evidence may
-- be returned as null": allow_null = true accepts null anywhere below the
-- root. The validator is exa.schema, the one the simulator uses.

--- exa.schema bound to the client's values: decoded JSON (exa.null, arrays
--- marked by exa.wire.json) and plain Lua tables (a list is a table whose [1] is
--- set; an empty plain table is an object unless exa.array marks it).
--- Its errors() options are checked like every other option table.
local S = require("exa.schema").new{
  null = json.null,
  is_array = function(v)
    return json.is_array(v) or (type(v) == "table" and getmetatable(v) == nil and v[1] ~= nil)
  end,
}
do
  local raw_errors = S.errors
  function S.errors(sch, v, opts)
    return raw_errors(sch, v, M.options(opts, "schema_errors"))
  end
end
M.schema = S

function M.check_output(run, sch, opts)
  if type(run) ~= "table" then
    invalid("run", "check_output needs a run table (or a completed event's data), got " .. type(run))
  end
  opts = M.options(opts, "check_output")
  if sch == nil and type(run.request) == "table" then sch = run.request.outputSchema end
  if sch == nil or sch == json.null then return true end
  if type(sch) ~= "table" then
    invalid("schema", "the schema must be a JSON Schema table, got " .. type(sch))
  end
  local bad = S.check(sch)
  if bad then invalid("schema", "the schema is not usable: " .. tostring(bad)) end
  local out = type(run.output) == "table" and run.output or {}
  local v = out.structured
  if v == nil or v == json.null then
    return nil, { { path = "structured",
      message = "output.structured is null: the run returned no structured result" } }
  end
  local errs = S.errors(sch, v, { path = "structured", allow_null = opts.allow_null == true, max = opts.max })
  if #errs == 0 then return true end
  return nil, errs
end

return M
