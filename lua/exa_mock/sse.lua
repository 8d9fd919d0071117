-- exa_mock.sse: server-sent event framing.
local json = require "exa_mock.json"

local sse = {}

local EOL = { lf = "\n", crlf = "\r\n", cr = "\r" }

function sse.eol(name)
  return EOL[name or "lf"] or "\n"
end

--- One frame: id / event / data lines and the blank line.
function sse.frame(ev, eol)
  eol = eol or "\n"
  return "id: " .. ev.id .. eol .. "event: " .. ev.event .. eol .. "data: " .. json.encode(ev.data) .. eol .. eol
end

function sse.comment(text, eol)
  eol = eol or "\n"
  return ": " .. text .. eol .. eol
end

return sse
