-- exa_mock.errors: the error bodies of the contract, {"error":{type,code,message}}.
local json = require "exa_mock.json"

local errors = {}

-- Default (type, code) for a bare HTTP status, e.g. from the fail-first fault.
local BY_STATUS = {
  [400] = { "INVALID_REQUEST", "INVALID_REQUEST" },
  [401] = { "AUTHENTICATION_ERROR", "TEAM_NOT_FOUND" },
  [404] = { "NOT_FOUND", "RUN_NOT_FOUND" },
  [429] = { "RATE_LIMIT_ERROR", "CONCURRENCY_LIMIT_REACHED" },
}

-- Type for each code, when a fault names a code.
local TYPE_OF = {
  INVALID_REQUEST = "INVALID_REQUEST", MISSING_BETA_HEADER = "INVALID_REQUEST",
  INVALID_BETA_HEADER = "INVALID_REQUEST", INVALID_OUTPUT_SCHEMA = "INVALID_REQUEST",
  INVALID_DATA_SOURCE = "INVALID_REQUEST",
  PREVIOUS_RUN_NOT_FOUND = "INVALID_REQUEST", PREVIOUS_RUN_NOT_COMPLETED = "INVALID_REQUEST",
  TEAM_NOT_FOUND = "AUTHENTICATION_ERROR", RUN_NOT_FOUND = "NOT_FOUND",
  CONCURRENCY_LIMIT_REACHED = "RATE_LIMIT_ERROR", TIMEOUT = "SERVER_ERROR",
  SERVER_ERROR = "SERVER_ERROR",
}

function errors.body(etype, code, message)
  return json.encode({ error = { type = etype, code = code, message = message } })
end

--- Type and code for a status (5xx and anything unknown: SERVER_ERROR).
function errors.for_status(status, code)
  if code and TYPE_OF[code] then return TYPE_OF[code], code end
  local p = BY_STATUS[status]
  if p then return p[1], p[2] end
  if status >= 400 and status < 500 then return "INVALID_REQUEST", "INVALID_REQUEST" end
  return "SERVER_ERROR", "SERVER_ERROR"
end

--- An HTML page as a proxy in front of the service would send it.
function errors.html(status, reason)
  return ("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n"
    .. "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"):format(status, reason, status, reason)
end

return errors
