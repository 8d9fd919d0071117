-- exa_mock.lifecycle: one run from queued to a terminal status, its stored
-- events, usage and cost, and its JSON representation.
local condition = require "cqueues.condition"
local json = require "exa_mock.json"
local util = require "exa_mock.util"
local pricing = require "exa_mock.pricing"
local generate = require "exa_mock.generate"

local lifecycle = {}

local HOUR = 3600
-- Simulated seconds a run takes per effort (divided by --speed).
local DURATION = { minimal = 1, low = 2, medium = 3, auto = 3, high = 4, xhigh = 6, max = 10, ultra = 20 }
-- Post-beta cost caps (budget.maxCostDollars) apply to these efforts; the defaults when omitted.
local DEFAULT_CAP = { auto = 5, max = 20 }

local TERMINAL = { completed = true, failed = true, cancelled = true }

--- The AgentRun object (a fresh table, safe to encode).
function lifecycle.to_json(run)
  local u = run.usage
  return {
    id = run.id,
    object = "agent_run",
    status = run.status,
    stopReason = run.stop_reason or json.null,
    createdAt = run.created_at,
    completedAt = run.completed_at or json.null,
    request = run.request,
    output = run.output,
    usage = {
      agentComputeUnits = u.agentComputeUnits, searches = u.searches,
      emails = u.emails, phoneNumbers = u.phoneNumbers, dataSources = u.dataSources,
    },
    costDollars = pricing.cost(u),
  }
end

--- An event as listed in JSON pages.
function lifecycle.event_json(ev)
  return { id = ev.id, event = ev.event, data = ev.data, createdAt = ev.createdAt }
end

local function emit(run, name, data, terminal)
  local ev = {
    id = tostring(#run.events + 1), event = name, data = data,
    createdAt = util.iso(), terminal = terminal or nil,
  }
  run.events[#run.events + 1] = ev
  run.cond:signal()
  return ev
end

local function finish(app, run, status, stop_reason)
  run.status = status
  run.stop_reason = stop_reason
  run.completed_at = util.iso()
  local team = app.store:team(run.key)
  team.active = team.active - 1
  run.wake:signal()
end

function lifecycle.cancel(app, run)
  if TERMINAL[run.status] then return run end
  finish(app, run, "cancelled", "cancelled")
  emit(run, "agent_run.cancelled", { id = run.id, status = "cancelled" }, true)
  return run
end

local function fail(app, run, etype, code, message)
  finish(app, run, "failed", "error")
  emit(run, "agent_run.failed", {
    id = run.id, status = "failed", error = { type = etype, code = code, message = message },
  }, true)
end

-- The usage of a run that ends now, at fraction f (0..1) of its planned
-- length: ACUs accrued so far; the enrichment of the output it returns; and
-- under a cost cap, the ACUs cut so the total stays within it.
local function settle(run, result, f, cap)
  local u = run.usage
  u.agentComputeUnits = math.max(u.agentComputeUnits, math.floor(run.acu * f))
  u.emails, u.phoneNumbers = result.emails, result.phones
  if cap then
    local others = pricing.cost(u).total - pricing.cost(u).agentCompute
    local room = math.floor((cap - others) / pricing.PER_ACU + 1e-9)
    if u.agentComputeUnits > room then u.agentComputeUnits = math.max(0, room) end
  end
end

-- The post-beta AgentGrounding has no score: field, citations, confidence.
local function grounding_for(app, grounding)
  if app.api ~= "post-beta" then return grounding end
  local out = json.array()
  for i, g in ipairs(grounding) do
    out[i] = { field = g.field, citations = g.citations, confidence = g.confidence }
  end
  return out
end

local function complete(app, run, result, reason, f, cap)
  settle(run, result, f, cap)
  run.output = { text = result.text, structured = result.structured, grounding = grounding_for(app, result.grounding) }
  finish(app, run, "completed", reason)
  emit(run, "agent_run.completed", lifecycle.to_json(run), true)
end

--- POST /agent/runs/{id}/stop (post-beta): an active run completes now with
--- what it has (stopReason "stopped"); a terminal run is left as it is.
function lifecycle.stop(app, run)
  if TERMINAL[run.status] then return run end
  local f = 0
  if run.t0 then f = math.min(1, (util.now() - run.t0) * app.speed / run.duration) end
  complete(app, run, run.result, "stopped", f)
  return run
end

-- Where a post-beta budget ends the run early: {at = simulated seconds,
-- reason =, cap = dollars or nil}, or nil when it runs to the end.
local function cut(app, run, duration)
  if app.api ~= "post-beta" then return nil end
  local b = type(run.request.budget) == "table" and run.request.budget or {}
  local best
  local effort = run.request.effort or "auto"
  local cap = DEFAULT_CAP[effort] and (b.maxCostDollars or DEFAULT_CAP[effort])
  if cap then
    local full = pricing.cost {
      agentComputeUnits = run.acu, searches = run.searches, emails = run.result.emails,
      phoneNumbers = run.result.phones, dataSources = run.ds_calls,
    }.total
    if full > cap then best = { at = duration * cap / full, reason = "budget_reached", cap = cap } end
  end
  local d = b.maxDurationSeconds
  if type(d) == "number" and d < duration and (not best or d < best.at) then
    best = { at = d, reason = "time_limit_reached" }
  end
  return best
end

-- The progress steps: a list of { at = simulated seconds, fn = function }.
local function plan(app, run, result, duration)
  local steps = {}
  local function at(t, fn) steps[#steps + 1] = { at = t, fn = fn } end
  at(0.1 * duration, function()
    run.status = "running"
    emit(run, "agent_run.started", { id = run.id, status = "running" })
  end)
  local n = run.searches
  local total_acu = run.acu
  local searches = generate.searches(result, n, run.request.query)
  for i = 1, n do
    local t = duration * (0.15 + 0.75 * (i - 1) / n)
    local dt = duration * 0.75 / n / 5
    local call = ("call_%s_%d"):format(run.id:sub(-8), i)
    local q, found = searches[i].query, searches[i].sources
    local item = function(status)
      return {
        id = ("fc_%s_%d"):format(run.id:sub(-8), i), type = "function_call", name = "web_search",
        status = status, call_id = call, arguments = json.encode({ query = q }),
      }
    end
    at(t, function() emit(run, "agent_run.output_item.added", { item = item("in_progress") }) end)
    at(t + dt, function()
      emit(run, "agent_run.search_trace", { text = "Searching the web for: " .. q, callId = call, tool = "web_search" })
      run.usage.searches = run.usage.searches + 1
    end)
    at(t + 2 * dt, function()
      for _, src in ipairs(found) do
        emit(run, "agent_run.source.added", { source = { url = src.url, title = src.title, callId = call } })
      end
    end)
    at(t + 3 * dt, function()
      emit(run, "agent_run.output_item.done", { item = item("completed") })
      run.usage.agentComputeUnits = total_acu * i // (n + 1)
    end)
  end
  -- post-beta data sources: each provider's tool calls, spread over the run
  local k = 0
  for _, provider in ipairs(run.providers) do
    for c = 1, run.ds_calls[provider] do
      k = k + 1
      local call = ("call_%s_ds%d"):format(run.id:sub(-8), k)
      at(duration * (0.2 + 0.6 * (k - 0.5) / run.ds_total), function()
        emit(run, "agent_run.search_trace", { text = ("Querying %s (%d)"):format(provider, c), callId = call,
          tool = provider })
        run.usage.dataSources = run.usage.dataSources or {}
        run.usage.dataSources[provider] = (run.usage.dataSources[provider] or 0) + 1
      end)
    end
  end
  table.sort(steps, function(a, b) return a.at < b.at end)
  local stop = cut(app, run, duration)
  if stop then
    local kept = {}
    for _, st in ipairs(steps) do
      if st.at < stop.at then kept[#kept + 1] = st end
    end
    steps = kept
    steps[#steps + 1] = { at = stop.at, fn = function()
      complete(app, run, result, stop.reason, stop.at / duration, stop.cap)
    end }
    return steps
  end
  at(duration, function()
    if run.fail_run then
      return fail(app, run, "SERVER_ERROR", "SERVER_ERROR", "The agent failed (injected by X-Mock-Fault run-fail).")
    end
    complete(app, run, result, "schema_satisfied", 1)
  end)
  return steps
end

local function drive(app, run, steps)
  local start = util.now()
  run.t0 = start
  for _, step in ipairs(steps) do
    local t = step.at
    local timeout = t > HOUR
    if timeout then t = HOUR end
    local due = start + t / app.speed
    while not TERMINAL[run.status] and util.now() < due do
      run.wake:wait(due - util.now())
    end
    if TERMINAL[run.status] then return end
    if timeout then
      return fail(app, run, "SERVER_ERROR", "TIMEOUT", "The run exceeded the maximum run time of one hour.")
    end
    step.fn()
  end
end

--- Create and start a run. request: the canonical request (stored as is);
--- result: the generator's output; opts: { duration =, fail = }.
function lifecycle.start(app, key, request, result, opts)
  local effort = request.effort or "auto"
  if not DURATION[effort] then effort = "auto" end
  local rows = request.input and request.input.data and #request.input.data or 0
  local searches = pricing.searches(effort, rows)
  local run = {
    id = util.run_id(app.rng), key = key, status = "queued", created_at = util.iso(),
    request = request, events = {}, cond = condition.new(), wake = condition.new(),
    output = { text = "", structured = json.null, grounding = json.array() },
    usage = { agentComputeUnits = 0, searches = 0, emails = 0, phoneNumbers = 0 },
    searches = searches,
    acu = pricing.acu(effort, rows, searches),
    fail_run = opts.fail,
    result = result,
    providers = {}, ds_calls = nil, ds_total = 0,
  }
  if app.api == "post-beta" and json.is_array(request.dataSources) and #request.dataSources > 0 then
    run.ds_calls = {}
    for _, d in ipairs(request.dataSources) do
      if not run.ds_calls[d.provider] then
        run.providers[#run.providers + 1] = d.provider
        run.ds_calls[d.provider] = 2
        run.ds_total = run.ds_total + 2
      end
    end
  end
  local duration = opts.duration or (DURATION[effort] + 0.2 * math.min(rows, 20))
  run.duration = duration
  app.store:add(key, run)
  local team = app.store:team(key)
  team.active = team.active + 1
  if team.active > (app.stats.peak_active_runs or 0) then app.stats.peak_active_runs = team.active end
  emit(run, "agent_run.created", { id = run.id, status = "queued", createdAt = run.created_at })
  local steps = plan(app, run, result, duration)
  app.cq:wrap(drive, app, run, steps)
  return run
end

return lifecycle
