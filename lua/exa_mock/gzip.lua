-- exa_mock.gzip: a streaming gzip writer using stored (uncompressed) deflate
-- blocks. Valid for every gzip reader, needs no zlib, and can flush per SSE event.
local gzip = {}

local CRC = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if c & 1 == 1 then c = 0xEDB88320 ~ (c >> 1) else c = c >> 1 end
  end
  CRC[i] = c
end

local function crc32(crc, s)
  crc = crc ~ 0xFFFFFFFF
  for i = 1, #s do
    crc = CRC[(crc ~ s:byte(i)) & 0xFF] ~ (crc >> 8)
  end
  return crc ~ 0xFFFFFFFF
end

local Writer = {}
Writer.__index = Writer

function gzip.writer()
  return setmetatable({ crc = 0, size = 0, started = false }, Writer)
end

local HEADER = "\31\139\8\0\0\0\0\0\0\255"

--- Bytes for data as non-final stored blocks (with the gzip header first time).
function Writer:write(data)
  local parts = {}
  if not self.started then
    self.started = true
    parts[1] = HEADER
  end
  self.crc = crc32(self.crc, data)
  self.size = self.size + #data
  local pos = 1
  while pos <= #data do
    local chunk = data:sub(pos, pos + 65534)
    parts[#parts + 1] = string.pack("<BI2I2", 0, #chunk, (~#chunk) & 0xFFFF) .. chunk
    pos = pos + #chunk
  end
  return table.concat(parts)
end

--- Final empty stored block and the trailer (CRC32, ISIZE).
function Writer:finish()
  local head = self.started and "" or HEADER
  self.started = true
  return head .. string.pack("<BI2I2", 1, 0, 0xFFFF) .. string.pack("<I4I4", self.crc, self.size & 0xFFFFFFFF)
end

function gzip.compress(data)
  local w = gzip.writer()
  return w:write(data) .. w:finish()
end

--- True when an Accept-Encoding value allows gzip.
function gzip.accepted(ae)
  if not ae then return false end
  for part in ae:lower():gmatch("[^,]+") do
    local coding, q = part:match("^%s*([%w%-%*]+)%s*;?%s*q?=?%s*([%d%.]*)")
    if (coding == "gzip" or coding == "x-gzip" or coding == "*") and (q == "" or tonumber(q) ~= 0) then
      return true
    end
  end
  return false
end

return gzip
