-- exa.api: facts about the Exa Agent API that several modules need, in one
-- place: terminal events and statuses, lifecycle event names, the run id
-- pattern, the known efforts. Nothing here talks to the network.
local type, string_find, string_match, string_lower = type, string.find, string.match, string.lower

local M = {}

--- Events after which a run's stream ends.
M.TERMINAL_EVENTS = {
  ["agent_run.completed"] = true,
  ["agent_run.failed"] = true,
  ["agent_run.cancelled"] = true,
}

--- Events whose data carries the run's id.
M.LIFECYCLE_EVENTS = {
  ["agent_run.created"] = true, ["agent_run.started"] = true,
  ["agent_run.completed"] = true, ["agent_run.failed"] = true,
  ["agent_run.cancelled"] = true,
}

--- Run statuses from which a run never moves on.
M.TERMINAL_STATUS = { completed = true, failed = true, cancelled = true }

--- Efforts of the beta contract and of the post-beta API (any other string
--- still passes through: the API may add more).
M.EFFORTS = { "minimal", "low", "medium", "high", "xhigh", "auto", "max", "ultra" }

--- The characters a run id may hold (the contract's AgentRunId).
M.RUN_ID_PATTERN = "^[A-Za-z0-9_.:-]+$"

--- Is v a well-formed run id? Ids made only of dots are refused: libcurl
--- would remove them as dot segments from the URL path.
function M.is_run_id(v)
  return type(v) == "string" and #v >= 1 and #v <= 200 and string_find(v, M.RUN_ID_PATTERN) ~= nil
    and string_find(v, "^%.+$") == nil
end

--- Is a Content-Type value the event stream media type? The media type
--- alone counts (parameters after ";" and the blanks around it do not),
--- case-insensitively: the C core (resp.c) frames a response by the same rule.
--- A repeated header, joined by ", ", counts by its first value, as resp.c
--- reads the first.
function M.is_event_stream(content_type)
  if type(content_type) ~= "string" then return false end
  content_type = string_match(content_type, "^[^,]*")
  local media = string_match(content_type, "^[ \t]*([^;]-)[ \t]*;") or string_match(content_type, "^[ \t]*(.-)[ \t]*$")
  return string_lower(media) == "text/event-stream"
end

--- The metadata key that marks each create for exactly-once creation.
M.MARKER_KEY = "exa_client_request_id"

return M
