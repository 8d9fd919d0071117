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
local DURATION = { low = 2, medium = 3, auto = 3, high = 4, xhigh = 6 }
local SEARCHES = { low = 2, medium = 3, auto = 3, high = 5, xhigh = 8 }

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
      emails = u.emails, phoneNumbers = u.phoneNumbers,
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
  at(duration, function()
    if run.fail_run then
      return fail(app, run, "SERVER_ERROR", "SERVER_ERROR", "The agent failed (injected by X-Mock-Fault run-fail).")
    end
    run.usage.agentComputeUnits = total_acu
    run.usage.emails = result.emails
    run.usage.phoneNumbers = result.phones
    run.output = { text = result.text, structured = result.structured, grounding = result.grounding }
    finish(app, run, "completed", "schema_satisfied")
    emit(run, "agent_run.completed", lifecycle.to_json(run), true)
  end)
  return steps
end

local function drive(app, run, steps)
  local start = util.now()
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
  local rows = request.input and request.input.data and #request.input.data or 0
  local run = {
    id = util.run_id(app.rng), key = key, status = "queued", created_at = util.iso(),
    request = request, events = {}, cond = condition.new(), wake = condition.new(),
    output = { text = "", structured = json.null, grounding = json.array() },
    usage = { agentComputeUnits = 0, searches = 0, emails = 0, phoneNumbers = 0 },
    searches = SEARCHES[effort] + math.min(rows, 10),
    acu = pricing.acu(effort, rows),
    fail_run = opts.fail,
  }
  local duration = opts.duration or (DURATION[effort] + 0.2 * math.min(rows, 20))
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
