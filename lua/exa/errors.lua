-- exa.errors: the one error convention. Every failure the library reports is
-- raised as an error object: a table with kind, status, type, code, message,
-- retryable and request_id, printable with tostring(). Nothing here ever
-- holds the API key: redact() scrubs it from every string field, and from
-- the values a validation message quotes (see invalid()).
local setmetatable, getmetatable, type, tostring, pairs, error, select =
  setmetatable, getmetatable, type, tostring, pairs, error, select
local string_format, string_gsub, string_sub, string_byte, string_lower, string_find =
  string.format, string.gsub, string.sub, string.byte, string.lower, string.find
local table_concat = table.concat
local math_floor, math_huge = math.floor, math.huge
local os_time = os.time

local json_null = require("exa.wire.json").null

local M = {}

local Error = {}
Error.__index = Error

-- error object -> array of the raw values its message quotes (through
-- describe()). Private and weak: never a field, so never printed; redact()
-- reads it to scrub a secret from the whole value before it was cut short.
local QUOTED = setmetatable({}, { __mode = "k" })

-- How many bytes of a string value a message quotes.
local QUOTE_MAX = 40

-- kind by HTTP status, for API errors (the code refines some of them).
local KIND_BY_STATUS = {
  [400] = "invalid_request",
  [401] = "authentication",
  [403] = "permission",
  [404] = "not_found",
  [408] = "request_timeout",
  [409] = "conflict",
  [422] = "invalid_request",
  [429] = "rate_limit",
}

-- kind by API error code, when the code says more than the status.
local KIND_BY_CODE = {
  CONCURRENCY_LIMIT_REACHED = "concurrency_limit",
  MISSING_BETA_HEADER = "invalid_request",
  INVALID_BETA_HEADER = "invalid_request",
  RUN_NOT_FOUND = "not_found",
  PREVIOUS_RUN_NOT_FOUND = "not_found",
  TEAM_NOT_FOUND = "authentication",
}

function Error:__tostring()
  local parts = { "exa: ", self.kind or "error" }
  local detail = {}
  if self.status then detail[#detail + 1] = "HTTP " .. tostring(self.status) end
  if self.code then detail[#detail + 1] = tostring(self.code) end
  if self.field then detail[#detail + 1] = "field " .. tostring(self.field) end
  if #detail > 0 then parts[#parts + 1] = " (" .. table_concat(detail, " ") .. ")" end
  if self.message then parts[#parts + 1] = ": " .. tostring(self.message) end
  if self.request_id then parts[#parts + 1] = " [request_id " .. tostring(self.request_id) .. "]" end
  return table_concat(parts)
end

--- Build an error object from fields (kind and message at least).
function M.new(fields)
  local e = {}
  for k, v in pairs(fields) do e[k] = v end
  if e.retryable == nil then e.retryable = false end
  return setmetatable(e, Error)
end

--- Raise an error object (never returns).
function M.raise(fields)
  error(M.new(fields), 0)
end

function M.is_error(v, kind)
  if getmetatable(v) ~= Error then return false end
  return kind == nil or v.kind == kind
end

--- A value as a validation message shows it: a string quoted (at most
--- QUOTE_MAX bytes, cut on a UTF-8 character boundary), a number as Lua
--- writes it (nan, inf and -inf the same on every Lua), else its type.
--- A message that quotes a string must hand that string to invalid() too,
--- so redact() can scrub a secret from the whole value (a quote cut short no
--- longer contains the secret it starts with).
local function describe(v)
  local t = type(v)
  if t == "string" then
    if #v > QUOTE_MAX then
      local cut = QUOTE_MAX
      while cut > QUOTE_MAX - 3 do -- do not end inside a UTF-8 sequence
        local b = string_byte(v, cut + 1)
        if b < 0x80 or b > 0xBF then break end
        cut = cut - 1
      end
      v = string_sub(v, 1, cut) .. "..."
    end
    return string_format("%q", v)
  elseif t == "number" then
    if v ~= v then return "nan" end
    if v == math_huge then return "inf" end
    if v == -math_huge then return "-inf" end
    return tostring(v)
  elseif t == "boolean" then
    return tostring(v)
  elseif v == json_null then
    return "null"
  end
  return "a " .. t
end
M.describe = describe

--- Validation failure: the request was never sent. Any further arguments
--- are the raw values message quotes with describe(); they are kept
--- privately (see redact()).
function M.invalid(field, message, ...)
  local e = M.new{ kind = "validation", field = field, message = message }
  local n = select("#", ...)
  if n > 0 then QUOTED[e] = { n = n, ... } end
  error(e, 0)
end

--- Shorten text for an error message: collapse whitespace, strip tags if it
--- looks like HTML, cap the length.
function M.snippet(s, max)
  if type(s) ~= "string" then return "" end
  max = max or 200
  local t = s
  if t:find("<[%a!/]") then
    t = string_gsub(t, "<[sS][cCtT][rRyY][iIlL][pPeE][tT]?.-</[sS][cCtT][rRyY][iIlL][pPeE][tT]?>", " ")
    t = string_gsub(t, "<[^>]*>", " ")
  end
  t = string_gsub(t, "[%c%s]+", " ")
  t = string_gsub(t, "^ +", "")
  t = string_gsub(t, " +$", "")
  if #t > max then t = string_sub(t, 1, max) .. "..." end
  return t
end

local function escape_pattern(s)
  return (string_gsub(s, "[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"))
end

-- The transport encodes query values with url.encode too, so redact() finds
-- a key exactly as it would appear in a URL.
local percent_encode = require("exa.wire.url").encode

-- A key shorter than this is only cut out where it stands alone (see
-- scrubber): "e" must not become "auth[REDACTED]ntication".
M.SHORT_SECRET = 8

-- Bytes that continue a word: a short key next to one is part of an
-- ordinary word, not the key.
local WORD = "[%w_%-\128-\255]"

-- Header lines and fields that carry credentials: their whole value goes
-- when it holds the key, whatever the key's length.
local AUTH_NAMES = { ["x-api-key"] = true, authorization = true, ["proxy-authorization"] = true,
  api_key = true, apikey = true }
M.AUTH_NAMES = AUTH_NAMES

-- s with every standalone occurrence of needle replaced: one that no word
-- byte (WORD) touches on either side.
local function replace_standalone(s, needle)
  local out, from, pos = {}, 1, 1
  while true do
    local i, j = string_find(s, needle, pos, true)
    if not i then break end
    local before = i > 1 and string_sub(s, i - 1, i - 1) or ""
    local after = string_sub(s, j + 1, j + 1)
    if not string_find(before, WORD) and not string_find(after, WORD) then
      out[#out + 1] = string_sub(s, from, i - 1)
      out[#out + 1] = "[REDACTED]"
      from = j + 1
    end
    pos = j + 1
  end
  if from == 1 then return s end
  out[#out + 1] = string_sub(s, from)
  return table_concat(out)
end

-- "X-Api-Key: value" and "Authorization: Bearer value" lines (a header
-- dump): the value goes whole when it holds the key anywhere.
local function scrub_header_lines(s, has)
  if not string_find(s, ":", 1, true) then return s end
  return (string_gsub(s, "([%w%-]+)([ \t]*:[ \t]*)([^\r\n]*)", function(name, sep, value)
    if AUTH_NAMES[string_lower(name)] and has(value) then return name .. sep .. "[REDACTED]" end
  end))
end

local function scrubber(secret)
  local needles = { secret }
  local enc = percent_encode(secret)
  if enc ~= secret then needles[#needles + 1] = enc; needles[#needles + 1] = string_lower(enc) end
  -- a key of SHORT_SECRET bytes or more goes wherever it appears; a
  -- shorter one only where it stands alone (a header value, a URL
  -- parameter, a quoted JSON value), never out of a word
  local long = #secret >= M.SHORT_SECRET
  local function has(v)
    for i = 1, #needles do
      if long then
        if string_find(v, needles[i], 1, true) then return true end
      elseif replace_standalone(v, needles[i]) ~= v then
        return true
      end
    end
    return false
  end
  local function scrub(s)
    s = scrub_header_lines(s, has)
    for i = 1, #needles do
      if long then
        s = string_gsub(s, escape_pattern(needles[i]), "[REDACTED]")
      else
        s = replace_standalone(s, needles[i])
      end
    end
    return s
  end
  return scrub, has
end

--- s with every occurrence of secret (raw or percent-encoded) replaced.
function M.redact_string(s, secret)
  if type(s) ~= "string" or type(secret) ~= "string" or secret == "" then return s end
  return (scrubber(secret)(s))
end

-- Replace every plain occurrence of old in s by new.
local function replace_plain(s, old, new)
  local out, from = {}, 1
  while true do
    local i, j = string_find(s, old, from, true)
    if not i then break end
    out[#out + 1] = string_sub(s, from, i - 1)
    out[#out + 1] = new
    from = j + 1
  end
  if from == 1 then return s end
  out[#out + 1] = string_sub(s, from)
  return table_concat(out)
end

--- Replace every occurrence of secret (raw or percent-encoded) in every
--- string field of err, nested tables included. A value a validation
--- message quotes is scrubbed whole first and quoted again, so a secret
--- longer than the quote does not leave its first bytes behind. Returns err.
function M.redact(err, secret)
  if type(secret) ~= "string" or secret == "" then return err end
  local scrub, has = scrubber(secret)
  local quoted = type(err) == "table" and QUOTED[err]
  if quoted then
    for i = 1, quoted.n do
      local v = quoted[i]
      local clean = type(v) == "string" and scrub(v)
      if clean and clean ~= v then
        local before, after = describe(v), describe(clean)
        for k, f in pairs(err) do
          if type(f) == "string" then err[k] = replace_plain(f, before, after) end
        end
        quoted[i] = clean
      end
    end
  end
  local seen = {}
  local function walk(t)
    if seen[t] then return end
    seen[t] = true
    for k, v in pairs(t) do
      if type(v) == "string" then
        -- a header or key field ({["x-api-key"] = ...}) goes whole
        if type(k) == "string" and AUTH_NAMES[string_lower(k)] and has(v) then
          t[k] = "[REDACTED]"
        else
          t[k] = scrub(v)
        end
      elseif type(v) == "table" then
        walk(v)
      end
    end
  end
  walk(err)
  return err
end

--- The error object for an HTTP response with status >= 300.
--- res = {status=, headers=, body=}; decoded = the decoded body or nil.
function M.from_response(res, decoded, ctx)
  local status = res.status
  local headers = res.headers or {}
  local e = {
    status = status,
    request_id = headers["x-request-id"],
    method = ctx and ctx.method,
    url = ctx and ctx.url,
  }
  local apierr = type(decoded) == "table" and type(decoded.error) == "table" and decoded.error
  if apierr then
    e.type = type(apierr.type) == "string" and apierr.type or nil
    e.code = type(apierr.code) == "string" and apierr.code or nil
    e.message = type(apierr.message) == "string" and apierr.message or nil
    e.details = apierr
  end
  if not e.message then
    local ctype = headers["content-type"] or "unknown content type"
    local snip = M.snippet(res.body)
    if snip == "" then
      e.message = string_format("HTTP %d with an empty %s body", status, ctype)
    elseif apierr == false and decoded ~= nil then
      e.message = string_format("HTTP %d with an unexpected JSON body: %s", status, snip)
    else
      e.message = string_format("HTTP %d with a non-JSON body (%s): %s", status, ctype, snip)
    end
    e.body_snippet = snip
  end
  e.kind = (e.code and KIND_BY_CODE[e.code]) or KIND_BY_STATUS[status]
    or (status >= 500 and "server") or "http"
  -- Could the same request succeed later?  A run TIMEOUT is final.
  e.retryable = (status == 408 or status == 409 or status == 429 or status >= 500)
    and e.code ~= "TIMEOUT"
  local ra = M.retry_after(headers)
  if ra then e.retry_after = ra end
  return M.new(e)
end

--- Parse Retry-After / Retry-After-Ms into seconds (number) or nil.
function M.retry_after(headers)
  local ms = headers["retry-after-ms"]
  if ms and ms:match("^%s*%d+%.?%d*%s*$") then
    return (ms + 0) / 1000
  end
  local v = headers["retry-after"]
  if not v then return nil end
  if v:match("^%s*%d+%.?%d*%s*$") then return v + 0 end
  -- HTTP-date: IMF-fixdate only ("Sun, 06 Nov 1994 08:49:37 GMT")
  local d, mon, y, h, mi, s = v:match("^%a+, (%d+) (%a+) (%d+) (%d+):(%d+):(%d+) GMT$")
  if not d then return nil end
  local months = { jan = 1, feb = 2, mar = 3, apr = 4, may = 5, jun = 6, jul = 7,
    aug = 8, sep = 9, oct = 10, nov = 11, dec = 12 }
  local m = months[string_lower(mon)]
  if not m then return nil end
  -- days since epoch (Howard Hinnant's days_from_civil), no timezone involved.
  y, m, d = y + 0, m, d + 0
  if m <= 2 then y = y - 1 end
  local era = math_floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math_floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math_floor(yoe / 4) - math_floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  local epoch = days * 86400 + h * 3600 + mi * 60 + s
  local delta = epoch - os_time() -- POSIX os.time() counts UTC seconds

  if delta < 0 then delta = 0 end
  return delta
end

--- Turn a core transport error {kind=, code=, message=} into an error object.
function M.from_transport(err, ctx)
  if type(err) ~= "table" then err = { kind = "transport", message = tostring(err) } end
  local kind = err.kind or "transport"
  return M.new{
    kind = kind,
    message = err.message or kind,
    -- libcurl's number (curl transport), or the ngx transport's short name
    curl_code = type(err.code) == "number" and err.code or nil,
    transport_code = type(err.code) == "string" and err.code or nil,
    method = ctx and ctx.method,
    url = ctx and ctx.url,
    retryable = kind == "timeout" or kind == "connect" or kind == "dns" or kind == "transport",
  }
end

return M
