-- examples/openresty/exa_openresty.lua: the handlers of examples/openresty/nginx.conf.
--
--   GET /research?q=...[&effort=low]   starts a research run and relays its
--                                      events to the browser as server-sent events
--   GET /runs/<id>[?timeout=600]       the finished run as JSON (waits for it)
--
-- Every request of the client goes through nginx's cosockets (the "ngx"
-- transport): while a run streams, the worker keeps serving everything else.
local exa = require "exa"

local M = {}

--- The client. The API key comes from EXA_API_KEY (nginx.conf passes it
--- through with `env EXA_API_KEY;`), the endpoint from EXA_BASE_URL or
--- https://api.exa.ai. One client per request: clients hold no connections
--- of their own here, nginx's keep-alive pool is shared by the whole worker.
function M.client()
  return exa.new{ transport = "ngx" }
end

local function sse(event, data)
  ngx.print("event: ", event, "\ndata: ", exa.json_encode(data), "\n\n")
  return ngx.flush(true) -- waits (yields) until the browser took the bytes
end

--- GET /research?q=...: the run's events as they happen, as server-sent events.
function M.research()
  local args = ngx.req.get_uri_args()
  local q = args.q
  if type(q) ~= "string" or q == "" then
    ngx.status = ngx.HTTP_BAD_REQUEST
    ngx.header["Content-Type"] = "application/json"
    return ngx.say(exa.json_encode{ error = { message = "pass the question as ?q=" } })
  end
  ngx.header["Content-Type"] = "text/event-stream"
  ngx.header["Cache-Control"] = "no-cache"
  ngx.header["X-Accel-Buffering"] = "no" -- an nginx in front of this one must not buffer the stream
  local client, stream
  local ok, err = pcall(function()
    client = M.client()
    stream = client.runs:stream{ query = q, effort = type(args.effort) == "string" and args.effort or "low" }
    for ev in stream do
      ngx.print("id: ", ev.id, "\n")
      if not sse(ev.event, ev.data) then break end -- the browser went away: stop following the run
    end
  end)
  if stream then stream:close() end
  if client then client:close() end
  if not ok then
    -- an exa error object: kind, status, code, message (never the API key)
    sse("error", exa.is_error(err) and { kind = err.kind, status = err.status, code = err.code,
      message = err.message } or { message = tostring(err) })
  end
end

local STATUS = { not_found = 404, validation = 400, timeout = 504, authentication = 502 }

--- GET /runs/<id>: the run once it is completed, failed or cancelled, as JSON.
function M.run(id)
  local args = ngx.req.get_uri_args()
  local client
  local ok, run = pcall(function()
    client = M.client()
    return client.runs:wait(id, { timeout = tonumber(args.timeout) or 600, interval = 1 })
  end)
  if client then client:close() end
  ngx.header["Content-Type"] = "application/json"
  if not ok then
    local e = run
    ngx.status = exa.is_error(e) and STATUS[e.kind] or 502
    return ngx.say(exa.json_encode{ error = exa.is_error(e) and { kind = e.kind, code = e.code,
      message = e.message } or { message = tostring(e) } })
  end
  ngx.say(exa.json_encode(run))
end

return M
