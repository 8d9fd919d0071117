-- exa_mock.router: request checks (faults, auth, beta header) and the API
-- operations of the contract, plus the /_mock admin endpoints.
local json = require "exa_mock.json"
local errors = require "exa_mock.errors"
local faults = require "exa_mock.faults"
local validate = require "exa_mock.validate"
local lifecycle = require "exa_mock.lifecycle"
local generate = require "exa_mock.generate"
local http = require "exa_mock.http"
local util = require "exa_mock.util"

local router = {}

local BETA = "agent-2026-05-07"

local function reply(status, value, extra)
  return { status = status, body = assert(json.encode(value)), headers = extra }
end

local function fail(status, code, message, extra)
  local etype, ecode = errors.for_status(status, code)
  return { status = status, body = errors.body(etype, ecode, message), headers = extra }
end

local function api_key(h)
  local k = h["x-api-key"]
  if k and k ~= "" then return k end
  local auth = h["authorization"]
  if auth then
    k = auth:match("^[Bb]earer%s+(%S+)%s*$")
    if k then return k end
  end
end

local function wants_sse(h)
  return (h["accept"] or ""):lower():find("text/event-stream", 1, true) ~= nil
end

local function beta_error(h)
  local v = h["exa-beta"]
  if v == nil or v:match("^%s*$") then
    return "MISSING_BETA_HEADER", "The Exa-Beta header is required: Exa-Beta: " .. BETA
  end
  for token in v:gmatch("[^,%s]+") do
    if token == BETA then return nil end
  end
  return "INVALID_BETA_HEADER", ("Unsupported Exa-Beta value '%s'; expected %s."):format(v, BETA)
end

-- Operations -----------------------------------------------------------------

local ops = {}

function ops.create(app, ctx)
  local request, code, msg = validate.create(ctx.req.body, app.api)
  if not request then return fail(400, code, msg) end
  if request.previousRunId then
    local prev = app.store:get(ctx.key, request.previousRunId)
    if not prev then
      return fail(400, "PREVIOUS_RUN_NOT_FOUND", "Previous run " .. request.previousRunId .. " was not found.")
    end
    if prev.status ~= "completed" then
      return fail(400, "PREVIOUS_RUN_NOT_COMPLETED",
        ("Previous run %s is %s, not completed."):format(prev.id, prev.status))
    end
  end
  local result, gerr = generate.run(request, app.seed)
  if not result then return fail(400, "INVALID_OUTPUT_SCHEMA", "outputSchema is not a usable JSON Schema: " .. gerr) end
  local team = app.store:team(ctx.key)
  if team.active >= app.max_active then
    app.stats.concurrency_rejections = (app.stats.concurrency_rejections or 0) + 1
    return fail(429, "CONCURRENCY_LIMIT_REACHED",
      ("Too many active runs: at most %d may be queued or running at once."):format(app.max_active))
  end
  local f = ctx.faults
  local run = lifecycle.start(app, ctx.key, request, result, {
    duration = f["run-seconds"] and tonumber(f["run-seconds"].value),
    fail = f["run-fail"] ~= nil,
  })
  if wants_sse(ctx.req.headers) then
    return { status = 200, sse = { run = run, after = 0 } }
  end
  return reply(200, lifecycle.to_json(run))
end

function ops.list(app, ctx)
  local q = ctx.req.query
  local limit, lerr = validate.limit(q.limit)
  if not limit then return fail(400, "INVALID_REQUEST", lerr) end
  local cursor = q.cursor
  if cursor ~= nil and not validate.run_id(cursor) then
    return fail(400, "INVALID_REQUEST", "cursor is not a valid run id.")
  end
  local list, more = app.store:page(ctx.key, limit, cursor)
  if not list then return fail(400, "INVALID_REQUEST", "Unknown cursor " .. cursor .. ".") end
  local data = json.array()
  for i, run in ipairs(list) do data[i] = lifecycle.to_json(run) end
  return reply(200, {
    object = "list", data = data, hasMore = more,
    nextCursor = (more and list[#list]) and list[#list].id or json.null,
  })
end

function ops.get(_, ctx)
  return reply(200, lifecycle.to_json(ctx.run))
end

function ops.delete(app, ctx)
  lifecycle.cancel(app, ctx.run) -- its live streams send agent_run.cancelled and end
  app.store:remove(ctx.key, ctx.run)
  return reply(200, { id = ctx.run.id, object = "agent_run.deleted", deleted = true })
end

function ops.cancel(app, ctx)
  lifecycle.cancel(app, ctx.run)
  return reply(200, lifecycle.to_json(ctx.run))
end

function ops.stop(app, ctx)
  lifecycle.stop(app, ctx.run)
  return reply(200, lifecycle.to_json(ctx.run))
end

function ops.events(_, ctx)
  local run, h, q = ctx.run, ctx.req.headers, ctx.req.query
  if wants_sse(h) then
    local last = h["last-event-id"]
    local after = 0
    if last and last ~= "" then
      after = last:match("^%s*%d+%s*$") and tonumber(last)
      if not after then return fail(400, "INVALID_REQUEST", "Last-Event-ID must be an event id.") end
    end
    return { status = 200, sse = { run = run, after = math.min(after, #run.events), upto = #run.events } }
  end
  local limit, lerr = validate.limit(q.limit)
  if not limit then return fail(400, "INVALID_REQUEST", lerr) end
  local start = 0
  if q.cursor ~= nil then
    start = q.cursor:match("^%d+$") and tonumber(q.cursor)
    if not start or start > #run.events then return fail(400, "INVALID_REQUEST", "Unknown cursor.") end
  end
  local data = json.array()
  local i = start
  while i < #run.events and #data < limit do
    i = i + 1
    data[#data + 1] = lifecycle.event_json(run.events[i])
  end
  local more = i < #run.events
  return reply(200, { object = "list", data = data, hasMore = more, nextCursor = more and tostring(i) or json.null })
end

-- Admin ----------------------------------------------------------------------

local function stats(app)
  local s = app.stats
  local active = 0
  for _, t in pairs(app.store.teams) do active = active + t.active end
  return reply(200, {
    connections = s.connections, open_connections = s.open_connections, requests = s.requests,
    open_streams = s.open_streams, runs = app.store.count, active_runs = active,
    peak_active_runs = s.peak_active_runs or 0, peak_open_streams = s.peak_open_streams or 0, concurrency_rejections = s.concurrency_rejections or 0,
    uptime_seconds = math.floor((util.now() - app.started) * 1000) / 1000,
  })
end

local function admin(app, req)
  if req.path == "/_mock/stats" and (req.method == "GET" or req.method == "HEAD") then return stats(app) end
  if req.path == "/_mock/reset" and req.method == "POST" then
    for _, t in pairs(app.store.teams) do
      for _, run in ipairs(t.order) do lifecycle.cancel(app, run) end
    end
    app.store:reset()
    app.attempts = faults.counter()
    app.stats.peak_active_runs, app.stats.concurrency_rejections = 0, 0
    return reply(200, { reset = true })
  end
  return { status = 404, body = errors.body("NOT_FOUND", "INVALID_REQUEST",
    "No admin endpoint " .. req.method .. " " .. req.path .. ".") }
end

-- Dispatch -------------------------------------------------------------------

-- { pattern, operations by method, run = the capture is a run id, api = only under that --api }
local ROUTES = {
  { "^/agent/runs/?$", { POST = ops.create, GET = ops.list } },
  { "^/agent/runs/([^/]+)/?$", { GET = ops.get, DELETE = ops.delete }, run = true },
  { "^/agent/runs/([^/]+)/cancel/?$", { POST = ops.cancel }, run = true },
  { "^/agent/runs/([^/]+)/stop/?$", { POST = ops.stop }, run = true, api = "post-beta" },
  { "^/agent/runs/([^/]+)/events/?$", { GET = ops.events }, run = true },
}

local function html_page(status, extra)
  return { status = status, body = errors.html(status, http.reason(status)), content_type = "text/html",
    headers = extra }
end

-- Faults that answer instead of the API: fail-first (for its first K
-- attempts, then nothing), else drop and html-error on every attempt.
local function injected(app, req, f, key)
  local ff = f["fail-first"]
  if ff then
    local k = tonumber(ff.value) or 1
    local n = app.attempts(key, req.headers["x-mock-fault"], req.method, req.path)
    if n > k then return nil end
    if ff.drop or f.drop then return { drop = true } end
    local status = tonumber(ff.status) or 503
    local extra = ff["retry-after"] and { { "Retry-After", tostring(ff["retry-after"]) } } or nil
    if ff.html or f["html-error"] then return html_page(status, extra) end
    return fail(status, ff.code, ("Injected failure %d of %d (X-Mock-Fault)."):format(n, k), extra)
  end
  if f.drop then return { drop = true } end
  if f["html-error"] then return html_page(tonumber(f["html-error"].value) or 502) end
end

local function route(app, req, f)
  local key = api_key(req.headers)
  local hit = injected(app, req, f, key)
  if hit then return hit end
  if not key or (app.api_key and key ~= app.api_key) then
    return fail(401, "TEAM_NOT_FOUND", key and "Invalid API key." or
      "Missing API key: pass x-api-key or Authorization: Bearer <key>.")
  end
  if app.beta_check and app.api ~= "post-beta" then -- the post-beta API makes Exa-Beta optional
    local code, msg = beta_error(req.headers)
    if code then return fail(400, code, msg) end
  end
  for _, r in ipairs(ROUTES) do
    local id = (not r.api or r.api == app.api) and req.path:match(r[1])
    if id then
      local op = r[2][req.method]
      if not op then
        local allow = {}
        for m in pairs(r[2]) do allow[#allow + 1] = m end
        table.sort(allow)
        return fail(405, "INVALID_REQUEST", "Method " .. req.method .. " is not allowed here.",
          { { "Allow", table.concat(allow, ", ") } })
      end
      local ctx = { req = req, key = key, faults = f }
      if r.run then
        if not validate.run_id(id) then return fail(400, "INVALID_REQUEST", "Invalid run id.") end
        ctx.run = app.store:get(key, id)
        if not ctx.run then return fail(404, "RUN_NOT_FOUND", "Run " .. id .. " was not found.") end
      end
      return op(app, ctx)
    end
  end
  return { status = 404, body = errors.body("NOT_FOUND", "INVALID_REQUEST",
    "No route for " .. req.method .. " " .. req.path .. ".") }
end

--- app.handle for the server: request -> response table.
function router.handler(app)
  return function(req)
    if req.path:sub(1, 7) == "/_mock/" then return admin(app, req) end -- no faults here
    local f, ferr = faults.parse(req.headers["x-mock-fault"])
    if not f then return fail(400, "INVALID_REQUEST", "Bad X-Mock-Fault header: " .. ferr) end
    local ok, res = pcall(route, app, req, f)
    if not ok then
      io.stderr:write("exa-agent-mock: internal error: ", tostring(res), "\n")
      res = fail(500, "SERVER_ERROR", "Internal simulator error.")
    end
    local lose = f["lose-answer"]
    if lose then -- the request took effect; its first K answers are lost
      local n = app.attempts(api_key(req.headers), req.headers["x-mock-fault"], req.method, req.path)
      if n <= (tonumber(lose.value) or 1) then res = { drop = true } end
    end
    res.faults = f
    return res
  end
end

return router
