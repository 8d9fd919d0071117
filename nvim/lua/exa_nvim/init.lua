-- exa_nvim: research runs of the Exa Agent API in Neovim buffers.
--
--   :ExaResearch <query>   a scratch buffer fills live: progress, the answer, the cost;
--                          the citations go to the quickfix list. At the account's
--                          concurrency limit (429 CONCURRENCY_LIMIT_REACHED) the run
--                          queues and starts when a slot frees.
--   :ExaCancel[!]          cancel this buffer's run (the latest run elsewhere); ! every run.
--   wiping the buffer cancels its run.
--
-- Everything runs on a plain exa.new{}: inside Neovim its loop is the editor's
-- own (vim.loop), and every run is a task on it, so the editor never waits.
-- Tasks resume from libuv callbacks, where most of the API may not be
-- called: buffer and quickfix changes go through vim.schedule.
local paths = require "exa_nvim.paths"

local M = {}

M.config = {
  api_key = nil,       -- default: $EXA_API_KEY
  base_url = nil,      -- default: $EXA_BASE_URL, else https://api.exa.ai
  effort = "low",
  retry_every = 10,    -- seconds between tries while queued on a slot another client holds
}

local state = {
  client = nil,
  exa = nil,
  jobs = {},   -- every job, in order of :ExaResearch
  queue = {},  -- jobs waiting for a slot, first come first served
  by_buf = {}, -- buffer -> job
}
M.state = state

--- setup{ api_key =, base_url =, effort =, retry_every = } (all optional).
function M.setup(opts)
  for k, v in pairs(opts or {}) do
    if M.config[k] == nil and k ~= "api_key" and k ~= "base_url" then
      error("exa_nvim.setup: unknown option " .. tostring(k), 2)
    end
    M.config[k] = v
  end
  state.client = nil
  M.commands()
end

--- The client (made on first use).
function M.client()
  if not state.client then
    state.exa = paths.require_exa()
    state.client = state.exa.new{ api_key = M.config.api_key, base_url = M.config.base_url }
  end
  return state.client, state.exa
end

-- ---- buffer output --------------------------------------------------------

local function append(job, lines)
  vim.schedule(function()
    local buf = job.buf
    if not vim.api.nvim_buf_is_valid(buf) then return end
    local flat = {}
    for _, l in ipairs(lines) do
      for s in (l .. "\n"):gmatch("(.-)\n") do flat[#flat + 1] = s end
    end
    vim.api.nvim_buf_set_lines(buf, -1, -1, false, flat)
  end)
end

local function notify(msg, level)
  vim.schedule(function() vim.notify("exa: " .. msg, level or vim.log.levels.INFO) end)
end

-- One line for a progress event (nil: nothing worth a line).
local function progress(ev)
  local d = type(ev.data) == "table" and ev.data or {}
  if ev.event == "agent_run.created" then return "run " .. tostring(d.id) .. " created" end
  if ev.event == "agent_run.started" then return "started" end
  if ev.event == "agent_run.search_trace" then return "search: " .. tostring(d.text) end
  if ev.event == "agent_run.source.added" and type(d.source) == "table" then
    return "source: " .. tostring(d.source.url)
  end
  return nil
end

local function cost_of(run)
  local c = type(run) == "table" and type(run.costDollars) == "table" and run.costDollars.total
  return type(c) == "number" and c or nil
end

-- The citations of a completed run as quickfix items.
local function qf_items(exa, run)
  local items = {}
  for _, g in ipairs(exa.citations(run)) do
    for _, cit in ipairs(type(g.citations) == "table" and g.citations or {}) do
      local title = type(cit.title) == "string" and cit.title or ""
      items[#items + 1] = {
        text = string.format("%s  %s  [%s%s]", tostring(cit.url), title, tostring(g.field),
          type(g.confidence) == "string" and (", " .. g.confidence) or ""),
      }
    end
  end
  return items
end

local function finished(job, run)
  local _, exa = M.client()
  local out = type(run.output) == "table" and run.output or {}
  local lines = { "", "# Answer", "", type(out.text) == "string" and out.text or "(no text)" }
  local items = qf_items(exa, run)
  lines[#lines + 1] = ""
  lines[#lines + 1] = string.format("citations: %d in the quickfix list (:copen)", #items)
  local cost = cost_of(run)
  if cost then lines[#lines + 1] = string.format("cost: $%.4f", cost) end
  append(job, lines)
  vim.schedule(function()
    vim.fn.setqflist({}, " ", { title = "exa: " .. job.query, items = items })
  end)
  notify(string.format("%s done%s", job.query, cost and string.format(", cost $%.4f", cost) or ""))
end

-- ---- the queue ------------------------------------------------------------

local function unqueue(job)
  for i, j in ipairs(state.queue) do
    if j == job then table.remove(state.queue, i); return end
  end
end

-- A run of ours ended: the first job in the queue tries now.
local function slot_freed()
  local first = state.queue[1]
  if first then first.go = true end
end

-- Inside the job's task: wait until a slot frees (a run of ours ended, the
-- job is first in the queue), retry_after passed, or the job is cancelled.
local function wait_for_slot(job, retry_after)
  local client = M.client()
  local deadline = vim.loop.hrtime() / 1e9 + (retry_after or M.config.retry_every)
  job.go = false
  while not job.go and not job.cancelled and vim.loop.hrtime() / 1e9 < deadline do
    client.loop:sleep(0.2)
  end
end

-- ---- one job --------------------------------------------------------------

local cancel_run

local function on_event(job, ev)
  local line = progress(ev)
  if line then append(job, { line }) end
  if ev.event == "agent_run.created" then
    job.run_id = type(ev.data) == "table" and ev.data.id or nil
    job.state = "running"
    unqueue(job)
    if job.cancelled then cancel_run(job) end
  elseif ev.event == "agent_run.completed" then
    job.state = "completed"
    finished(job, ev.data)
  elseif state.exa.TERMINAL_EVENTS[ev.event] then
    job.state = ev.event:gsub("^agent_run%.", "")
    local cost = cost_of(ev.data)
    append(job, { "", "run " .. job.state .. (cost and string.format(" (cost: $%.4f)", cost) or "") })
    notify(job.query .. ": " .. job.state)
  end
end

local function run_job(job)
  local client, exa = M.client()
  while not job.cancelled do
    job.state = "starting"
    local ok, err = pcall(function()
      local s = client.runs:stream{ query = job.query, effort = job.effort }
      job.stream = s
      while true do
        local ev = s:next()
        if not ev then break end
        on_event(job, ev)
      end
    end)
    job.stream = nil
    if ok then break end
    if exa.is_error(err, "concurrency_limit") and not job.cancelled then
      if job.state ~= "queued" then
        job.state = "queued"
        state.queue[#state.queue + 1] = job
        local ahead = #state.queue - 1
        append(job, { string.format("queued: the account is at its concurrency limit; waiting for a slot%s",
          ahead > 0 and string.format(" (%d ahead)", ahead) or "") })
      end
      wait_for_slot(job, err.retry_after)
    else
      if not job.cancelled then
        job.state = "error"
        append(job, { "", "error: " .. tostring(err) })
      end
      break
    end
  end
  unqueue(job)
  if job.cancelled and not job.run_id then
    job.state = "cancelled"
    append(job, { "", "cancelled before it started (no cost)" })
  end
  if job.run_id then slot_freed() end
  job.done = true
  vim.schedule(function() vim.api.nvim_exec_autocmds("User", { pattern = "ExaResearchDone" }) end)
end

-- Ask the API to cancel the job's run (in a task of its own).
function cancel_run(job)
  if not job.run_id or job.cancel_sent then return end
  job.cancel_sent = true
  local client = M.client()
  client.loop:spawn(function()
    local ok, err = pcall(client.runs.cancel, client.runs, job.run_id)
    if not ok and not state.exa.is_error(err, "conflict") then -- conflict: it had ended
      notify("cancel " .. job.run_id .. ": " .. tostring(err), vim.log.levels.WARN)
    end
  end)
end

--- Cancel a job: queued, it leaves the queue; created, its run is cancelled
--- (once the create answers, if it is in flight).
function M.cancel(job)
  if job.done or job.cancelled then return false end
  job.cancelled = true
  append(job, { "", "cancelling..." })
  cancel_run(job)
  return true
end

--- Start a run for query in a new scratch buffer; returns the job
--- {buf=, query=, state=, run_id=, task=}.
function M.research(query, opts)
  opts = opts or {}
  local client = M.client()
  local buf = vim.api.nvim_create_buf(true, true)
  local job = { query = query, effort = opts.effort or M.config.effort, buf = buf, state = "new" }
  state.jobs[#state.jobs + 1] = job
  state.by_buf[buf] = job
  vim.api.nvim_buf_set_name(buf, string.format("exa://%d/%s", #state.jobs, query:gsub("%s+", "-"):sub(1, 40)))
  vim.bo[buf].filetype = "markdown"
  vim.api.nvim_set_current_buf(buf)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { "# " .. query, "" })
  vim.api.nvim_create_autocmd("BufWipeout", {
    buffer = buf,
    once = true,
    callback = function()
      state.by_buf[buf] = nil
      M.cancel(job)
    end,
  })
  job.task = client.loop:spawn(run_job, job)
  return job
end

--- :ExaCancel (bang: every run).
function M.cancel_command(bang)
  local targets = {}
  if bang then
    targets = state.jobs
  else
    local job = state.by_buf[vim.api.nvim_get_current_buf()]
    if not job then
      for i = #state.jobs, 1, -1 do
        if not state.jobs[i].done then job = state.jobs[i]; break end
      end
    end
    targets = { job }
  end
  local n = 0
  for _, job in ipairs(targets) do
    if M.cancel(job) then n = n + 1 end
  end
  if n == 0 then vim.notify("exa: no run to cancel") end
  return n
end

-- A command's failure (no core built, no key) as one message, not a traceback.
local function guarded(fn)
  return function(cmd)
    local ok, err = pcall(fn, cmd)
    if not ok then
      local msg = tostring(err)
      vim.notify(msg:find("^exa: ") and msg or "exa: " .. msg, vim.log.levels.ERROR)
    end
  end
end

--- Define :ExaResearch and :ExaCancel (idempotent).
function M.commands()
  vim.api.nvim_create_user_command("ExaResearch", guarded(function(cmd)
    M.research(cmd.args)
  end), { nargs = "+", desc = "Exa research run into a scratch buffer" })
  vim.api.nvim_create_user_command("ExaCancel", guarded(function(cmd)
    M.cancel_command(cmd.bang)
  end), { bang = true, desc = "Cancel this buffer's Exa run (!: every run)" })
end

return M
