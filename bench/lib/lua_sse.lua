-- A straightforward pure-Lua SSE framer, used only as the baseline the C
-- framer is measured against in bench/sse_throughput.lua. LF/CRLF line ends
-- only (the common case); it is not part of the product.
local find, sub = string.find, string.sub
local concat = table.concat

local M = {}

function M.new()
  local buf, data, typ, id = "", {}, nil, ""
  local self = {}
  function self.feed(chunk)
    local out = {}
    buf = buf .. chunk
    local pos = 1
    while true do
      local s, e = find(buf, "\r?\n", pos)
      if not s then break end
      local line = sub(buf, pos, s - 1)
      pos = e + 1
      if line == "" then
        if #data > 0 then
          out[#out + 1] = { event = typ or "message", data = concat(data, "\n"), id = id }
        end
        data, typ = {}, nil
      elseif sub(line, 1, 1) ~= ":" then
        local c = find(line, ":", 1, true)
        local field, value = line, ""
        if c then
          field, value = sub(line, 1, c - 1), sub(line, c + 1)
          if sub(value, 1, 1) == " " then value = sub(value, 2) end
        end
        if field == "data" then data[#data + 1] = value
        elseif field == "event" then typ = value
        elseif field == "id" then id = value end
      end
    end
    buf = sub(buf, pos)
    return out
  end
  return self
end

return M
