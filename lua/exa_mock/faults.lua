-- exa_mock.faults: the X-Mock-Fault request header.
--   header := item (';' item)*     item := name ['=' value] (',' key ['=' value])*
-- e.g. "fail-first=2,status=503,retry-after=1; drip; sse-eol=crlf"
local faults = {}

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

local KNOWN = {
  ["close-after-events"] = true, ["fail-first"] = true, ["delay-ms"] = true, drip = true,
  ["sse-eol"] = true, ["html-error"] = true, gzip = true, drop = true,
  ["run-seconds"] = true, ["run-fail"] = true, ["keepalive-ms"] = true, ["lose-answer"] = true,
}

--- Parse a header value: table name -> { value = string|true, <key> = string|true }, or nil, err.
function faults.parse(header)
  local out = {}
  if not header or header == "" then return out end
  for item in header:gmatch("[^;]+") do
    item = trim(item)
    if item ~= "" then
      local spec
      for part in item:gmatch("[^,]+") do
        part = trim(part)
        local k, v = part:match("^([%w%-_]+)%s*=%s*(.-)$")
        if not k then k, v = part, true end
        k = k:lower()
        if not spec then
          if not KNOWN[k] then return nil, "unknown fault '" .. k .. "'" end
          spec = { value = v }
          out[k] = spec
        else
          spec[k] = v
        end
      end
    end
  end
  return out
end

--- Attempt counter keyed by (api key, fault header value, method + path).
function faults.counter()
  local counts = {}
  return function(key, header, method, path)
    local k = table.concat({ key or "", header or "", method, path }, "\0")
    local n = (counts[k] or 0) + 1
    counts[k] = n
    return n
  end
end

return faults
