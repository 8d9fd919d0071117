-- exa_research: a small Neovim plugin on exa-agent for Lua.
--
-- :ExaResearch <query> opens a scratch buffer and fills it while the run
-- goes: one line per progress event, then the answer and its citations.
-- Everything runs on exa.loop{ uv = vim.loop }: the editor never waits.
-- Buffer changes go through vim.schedule, since the loop resumes tasks from
-- libuv callbacks, where most of the Neovim API may not be called.
local exa = require "exa"

local M = {}

local state = { loop = nil, client = nil }

--- setup{ api_key =, base_url =, effort = "low" } (all optional: the key
--- and endpoint default to $EXA_API_KEY / $EXA_BASE_URL).
function M.setup(opts)
  opts = opts or {}
  state.opts = opts
  state.loop = exa.loop{ uv = vim.loop }
  state.client = exa.new{ api_key = opts.api_key, base_url = opts.base_url, loop = state.loop }
end

local function append(buf, lines)
  vim.schedule(function()
    if not vim.api.nvim_buf_is_valid(buf) then return end
    local n = vim.api.nvim_buf_line_count(buf)
    local first = vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1]
    if n == 1 and first == "" then n = 0 end
    vim.api.nvim_buf_set_lines(buf, n, n, false, lines)
  end)
end

local function split(text)
  local out = {}
  for line in (text .. "\n"):gmatch("(.-)\n") do out[#out + 1] = line end
  return out
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

local function finished(buf, run)
  local lines = { "", "# Answer", "" }
  local out = type(run.output) == "table" and run.output or {}
  for _, l in ipairs(split(type(out.text) == "string" and out.text or "(no text)")) do lines[#lines + 1] = l end
  local grounding = type(out.grounding) == "table" and out.grounding or {}
  if #grounding > 0 then
    lines[#lines + 1] = ""
    lines[#lines + 1] = "# Citations"
    for _, g in ipairs(grounding) do
      for _, cit in ipairs(type(g.citations) == "table" and g.citations or {}) do
        lines[#lines + 1] = string.format("- %s: %s", tostring(g.field), tostring(cit.url))
      end
    end
  end
  local cost = type(run.costDollars) == "table" and run.costDollars.total
  if cost then lines[#lines + 1] = string.format("\ncost: $%.4f", cost) end
  local flat = {}
  for _, l in ipairs(lines) do for _, s in ipairs(split(l)) do flat[#flat + 1] = s end end
  append(buf, flat)
end

--- Start a run for query; returns the buffer and the loop task.
function M.research(query)
  if not state.client then M.setup(state.opts) end
  local buf = vim.api.nvim_create_buf(true, true)
  vim.api.nvim_buf_set_name(buf, "exa://" .. query:gsub("%s+", "-"):sub(1, 40) .. "-" .. buf)
  vim.bo[buf].filetype = "markdown"
  vim.api.nvim_set_current_buf(buf)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { "# " .. query, "" })
  local effort = (state.opts and state.opts.effort) or "low"
  local task = state.loop:spawn(function()
    local ok, err = pcall(function()
      for ev in state.client.runs:stream{ query = query, effort = effort } do
        local line = progress(ev)
        if line then append(buf, { line }) end
        if ev.event == "agent_run.completed" then
          finished(buf, ev.data)
        elseif ev.event == "agent_run.failed" or ev.event == "agent_run.cancelled" then
          append(buf, { "", "run " .. ev.event:gsub("agent_run%.", "") })
        end
      end
    end)
    if not ok then append(buf, { "", "error: " .. tostring(err) }) end
    vim.schedule(function() vim.api.nvim_exec_autocmds("User", { pattern = "ExaResearchDone" }) end)
  end)
  return buf, task
end

return M
