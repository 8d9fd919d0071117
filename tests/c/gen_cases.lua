-- gen_cases.lua - turn the conformance JSON into a line format a C test can
-- read without a JSON parser:  lua5.4 gen_cases.lua sse_cases.json > cases.txt
--   case <name> / chunk <hex> / counts <n>... / event <type> <data> <id> <retry>
--   comment <hex> / last <hex> / retry <n> / end        ("-" is the empty string)
local cjson = require "cjson"

local function hex(s)
  if s == "" then return "-" end
  return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

local function int(v)
  if v == nil or v == cjson.null then return "-1" end
  return ("%d"):format(v)
end

local f = assert(io.open(assert(arg[1], "usage: gen_cases.lua <sse_cases.json>"), "rb"))
local cases = cjson.decode(f:read("*a"))
f:close()
local out = {}
for _, c in ipairs(cases) do
  out[#out + 1] = "case " .. c.name
  for _, h in ipairs(c.chunksHex) do out[#out + 1] = "chunk " .. (h == "" and "-" or h) end
  local counts = {}
  for i, n in ipairs(c.eventsAfterEachChunk) do counts[i] = int(n) end
  out[#out + 1] = "counts " .. table.concat(counts, " ")
  for _, e in ipairs(c.events) do
    out[#out + 1] = ("event %s %s %s %s"):format(hex(e.event), hex(e.data), hex(e.id), int(e.retry))
  end
  for _, s in ipairs(c.comments) do out[#out + 1] = "comment " .. hex(s) end
  out[#out + 1] = "last " .. hex(c.lastEventId)
  out[#out + 1] = "retry " .. int(c.retry)
  out[#out + 1] = "end"
end
io.write(table.concat(out, "\n"), "\n")
