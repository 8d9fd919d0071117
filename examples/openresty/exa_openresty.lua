-- examples/openresty/exa_openresty.lua: the handlers of examples/openresty/nginx.conf.
--
--   GET /research?q=...[&effort=low]   starts a research run and relays its
--                                      events as server-sent events
--   GET /runs/<id>[?timeout=600]       the finished run as JSON (waits for it)
--
-- Both need the relay's own token, EXA_RELAY_TOKEN (never the API key), as
-- `Authorization: Bearer <token>` or, for a browser's EventSource, `?token=`.
-- Configuration comes from the environment (nginx.conf keeps these names):
--   EXA_RELAY_EFFORTS               allowed efforts, comma-separated; the first
--                                   is the default (default "low")
--   EXA_RELAY_CANCEL_ON_DISCONNECT  "0": a run goes on when its client leaves
--   EXA_RELAY_RETRY_AFTER           seconds a 429 asks a client to wait (30)
--   EXA_RESOLVER                    named in a DNS error (nginx.sh sets it)
-- Every request of the client goes through nginx's cosockets (the "ngx"
-- transport): while a run streams, the worker keeps serving everything else.
local exa = require "exa"

local M = {}

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

--- The relay's settings, read from the environment.
function M.config()
  local efforts = {}
  for e in env("EXA_RELAY_EFFORTS", "low"):gmatch("[^,%s]+") do efforts[#efforts + 1] = e end
  return {
    token = env("EXA_RELAY_TOKEN"),
    efforts = efforts,
    cancel_on_disconnect = env("EXA_RELAY_CANCEL_ON_DISCONNECT", "1") ~= "0",
    retry_after = tonumber(env("EXA_RELAY_RETRY_AFTER", "30")) or 30,
    resolver = env("EXA_RESOLVER"),
  }
end

--- The client. The API key comes from EXA_API_KEY, the endpoint from
--- EXA_BASE_URL or https://api.exa.ai. One client per request: clients hold
--- no connections of their own here, nginx's keep-alive pool is shared by
--- the whole worker.
function M.client()
  return exa.new{ transport = "ngx" }
end

local function json_error(status, fields, headers)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  for k, v in pairs(headers or {}) do ngx.header[k] = v end
  ngx.say(exa.json_encode{ error = fields })
  return ngx.exit(status)
end

-- The token, from the Authorization header or ?token=; compared as digests
-- so the time taken says nothing about how much of it matched.
local function authorized(cfg)
  if not cfg.token then
    return json_error(503, { kind = "configuration",
      message = "EXA_RELAY_TOKEN is not set: this relay refuses every request" })
  end
  local given = (ngx.var.http_authorization or ""):match("^[Bb]earer%s+(%S+)%s*$")
  if not given then
    local t = ngx.req.get_uri_args().token
    given = type(t) == "string" and t or nil
  end
  if given and ngx.sha1_bin(given) == ngx.sha1_bin(cfg.token) then return true end
  return json_error(401, { kind = "authentication",
    message = "send the relay's token: Authorization: Bearer <EXA_RELAY_TOKEN> (or ?token= for EventSource)" },
    { ["WWW-Authenticate"] = 'Bearer realm="exa relay"' })
end

local STATUS = { not_found = 404, validation = 400, invalid_request = 400, timeout = 504,
  concurrency_limit = 429, rate_limit = 429 }

-- An exa error object as the relay's JSON fields (never the API key).
local function fields_of(err, cfg)
  if not exa.is_error(err) then return { kind = "internal", message = tostring(err) } end
  local message = err.message
  if err.kind == "dns" then
    message = ("%s (nginx asked the resolver %s; set EXA_RESOLVER to change it)"):format(message,
      cfg.resolver or "named in nginx.conf")
  end
  return { kind = err.kind, code = err.code, status = err.status, message = message }
end

-- An error before anything was relayed: a plain HTTP answer. A full account
-- (429) says when to come back.
local function answer_error(err, cfg)
  local status = exa.is_error(err) and STATUS[err.kind] or 502
  local headers
  if status == 429 then
    headers = { ["Retry-After"] = tostring(math.ceil(exa.is_error(err) and err.retry_after or cfg.retry_after)) }
  end
  return json_error(status, fields_of(err, cfg), headers)
end

local function sse(event, data)
  ngx.print("event: ", event, "\ndata: ", exa.json_encode(data), "\n\n")
  return ngx.flush(true) -- waits (yields) until the client took the bytes; nil when it is gone
end

local function cancel(run_id)
  local c = M.client()
  local ok, err = pcall(c.runs.cancel, c.runs, run_id)
  c:close()
  ngx.log(ngx.NOTICE, "the client went away: ", ok and "cancelled run " or "could not cancel run ", run_id,
    ok and "" or (": " .. tostring(err)))
end

--- GET /research?q=...: the run's events as they happen, as server-sent events.
function M.research()
  local cfg = M.config()
  authorized(cfg)
  local args = ngx.req.get_uri_args()
  local q = args.q
  if type(q) ~= "string" or q == "" then
    return json_error(400, { kind = "validation", field = "q", message = "pass the question as ?q=" })
  end
  local effort = args.effort
  if effort == nil then effort = cfg.efforts[1] end
  local allowed = false
  for _, e in ipairs(cfg.efforts) do allowed = allowed or e == effort end
  if not allowed then
    return json_error(400, { kind = "validation", field = "effort", message = ("effort %s is not allowed here "
      .. "(allowed: %s; EXA_RELAY_EFFORTS)"):format(type(effort) == "string" and ("%q"):format(effort)
      or "(not one string)", table.concat(cfg.efforts, ", ")) })
  end

  local run_id, gone, done
  if cfg.cancel_on_disconnect then
    -- nginx notices a closed client connection (lua_check_client_abort on)
    -- even while no event is being written
    local ok, err = ngx.on_abort(function()
      gone = true
      if run_id and not done then -- else the relay loop cancels once it knows the run
        done = true
        cancel(run_id)
        return ngx.exit(499)
      end
    end)
    if not ok then ngx.log(ngx.WARN, "no abort handler: ", err) end
  end

  local client = M.client()
  local stream = client.runs:stream{ query = q, effort = effort }
  -- the first event before any header, so a refused create (a full account,
  -- a bad key) is a plain HTTP answer with its status
  local ok, ev = pcall(function() return stream:next() end)
  if not ok then
    stream:close()
    client:close()
    return answer_error(ev, cfg)
  end
  ngx.header["Content-Type"] = "text/event-stream"
  ngx.header["Cache-Control"] = "no-cache"
  ngx.header["X-Accel-Buffering"] = "no" -- an nginx in front of this one must not buffer the stream
  local err
  while ev do
    if not run_id and type(ev.data) == "table" and type(ev.data.id) == "string" then run_id = ev.data.id end
    if exa.TERMINAL_EVENTS[ev.event] then done = true end
    if gone and cfg.cancel_on_disconnect and not done then break end
    ngx.print("id: ", ev.id, "\n")
    if not sse(ev.event, ev.data) then gone = true; break end
    if done then break end
    ok, ev = pcall(function() return stream:next() end)
    if not ok then err, ev = ev, nil end
  end
  stream:close()
  client:close()
  if gone then
    if cfg.cancel_on_disconnect and run_id and not done then done = true; cancel(run_id) end
    return ngx.exit(499)
  end
  if err then sse("error", fields_of(err, cfg)) end
end

--- GET /runs/<id>: the run once it is completed, failed or cancelled, as JSON.
function M.run(id)
  local cfg = M.config()
  authorized(cfg)
  local args = ngx.req.get_uri_args()
  local client
  local ok, run = pcall(function()
    client = M.client()
    return client.runs:wait(id, { timeout = tonumber(args.timeout) or 600 })
  end)
  if client then client:close() end
  if not ok then return answer_error(run, cfg) end
  ngx.header["Content-Type"] = "application/json"
  ngx.say(exa.json_encode(run))
end

return M
