-- sse_cases.lua - the SSE conformance cases (spec/fixtures/sse_cases.json)
-- and the ways spec/sse_spec.lua (the framer) and spec/scenarios/sse_conformance.lua
-- (each backend's reader) cut them: the same draws on every Lua.
local M = {}

local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
M.path = here .. "../fixtures/sse_cases.json"

local function text()
  local f = assert(io.open(M.path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

--- The cases, decoded with decode (a JSON decoder).
function M.read(decode)
  local cases, err = decode(text())
  assert(cases, err)
  return cases
end

--- The cases' names, in order, without a JSON decoder.
function M.names()
  local names = {}
  for name in text():gmatch('"name"%s*:%s*"([^"]+)"') do names[#names + 1] = name end
  return names
end

function M.unhex(h)
  return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

--- A case's chunks, as bytes.
function M.chunks(case)
  local chunks = {}
  for i, h in ipairs(case.chunksHex) do chunks[i] = M.unhex(h) end
  return chunks
end

--- Park-Miller: exact in doubles, so every Lua draws the same numbers; rand(n) is 1..n.
function M.rng(seed)
  local x = seed % 2147483646 + 1
  return function(n)
    x = x * 16807 % 2147483647
    return x % n + 1
  end
end

--- Split s into pieces at up to k random points.
function M.random_split(s, k, rand)
  local n = #s
  if n < 2 then return { s } end
  local cuts, seen = {}, {}
  for _ = 1, k do
    local c = rand(n - 1)
    if not seen[c] then seen[c] = true; cuts[#cuts + 1] = c end
  end
  table.sort(cuts)
  local out, from = {}, 1
  for _, c in ipairs(cuts) do
    out[#out + 1] = s:sub(from, c)
    from = c + 1
  end
  out[#out + 1] = s:sub(from)
  return out
end

return M
