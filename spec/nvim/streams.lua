-- A 20 ms timer counts ticks: first on an idle editor for 1 s, then while 10
-- streams run on exa.loop{uv = vim.loop} as tasks, then while 10 streams run
-- on a plain exa.new{} pulled from outside any task (each wait goes through
-- vim.wait). Counts only; the spec compares the rates.
local common = dofile(os.getenv("EXA_ROOT") .. "/spec/nvim/common.lua")
local exa = common.exa()
local uv = vim.loop

local out = {}
local ticks = 0
local ticker = uv.new_timer()
ticker:start(20, 20, function() ticks = ticks + 1 end)

local function brief(ev)
  return { id = ev.id, event = ev.event, run = type(ev.data) == "table" and ev.data.id or nil }
end

-- the window since the last mark: ticks and ms
local mark_at
local function mark()
  uv.update_time()
  local t, ms = ticks, mark_at and uv.now() - mark_at or 0
  ticks, mark_at = 0, uv.now()
  return t, ms
end

-- Phase B, on the main thread (not a libuv callback): a plain client, 10
-- streams opened at once and pulled round-robin outside any task.
local function plain_phase()
  mark()
  -- while the calls below wait, the editor's scheduled callbacks and jobs go on
  local scheduled, job_out, job_exit = false, 0, false
  vim.schedule(function() scheduled = true end)
  vim.fn.jobstart({ "sh", "-c", "echo one; echo two" }, {
    on_stdout = function(_, data) for _, l in ipairs(data) do if l ~= "" then job_out = job_out + 1 end end end,
    on_exit = function() job_exit = true end,
  })
  local c = exa.new{}
  out.plain_driver = c.loop.driver
  local ok, err = pcall(function()
    local streams, evs, open = {}, {}, 10
    for i = 1, 10 do
      streams[i] = c.runs:stream{ query = "nvim plain " .. i, effort = "low" }
      evs[i] = {}
    end
    while open > 0 do
      for i = 1, 10 do
        local s = streams[i]
        if s then
          local ev = s:next()
          if ev then evs[i][#evs[i] + 1] = brief(ev) else streams[i] = nil; open = open - 1 end
        end
      end
    end
    out.plain_streams = evs
  end)
  out.plain_ticks, out.plain_ms = mark()
  out.plain_scheduled, out.plain_job_out, out.plain_job_exit = scheduled, job_out, job_exit
  out.plain_error = not ok and tostring(err) or nil
  -- exa.loop{wait = false}: no vim.wait, a call outside a task raises even here
  local strict = exa.new{ loop = exa.loop{ uv = uv, wait = false } }
  local ok3, e3 = pcall(strict.runs.list, strict.runs)
  out.strict_ok, out.strict_message = ok3, type(e3) == "table" and e3.message or tostring(e3)
  -- from a libuv callback the plain client cannot wait: it says how to
  local cb = uv.new_timer()
  cb:start(0, 0, function()
    cb:close()
    local ok2, e = pcall(c.runs.list, c.runs)
    out.plain_fast_ok, out.plain_fast_kind = ok2, type(e) == "table" and e.kind or tostring(e)
    out.plain_fast_message = type(e) == "table" and e.message or nil
    ticker:stop()
    common.finish(out)
  end)
end

mark()
local idle = uv.new_timer()
idle:start(1000, 0, function()
  out.idle_ticks, out.idle_ms = mark()
  local loop = exa.loop{ uv = uv }
  local c = exa.new{ loop = loop }
  -- a libuv callback: a call outside a task raises kind = "loop"
  local ok, e = pcall(c.runs.list, c.runs)
  out.outside_ok, out.outside_kind = ok, type(e) == "table" and e.kind or tostring(e)
  local tasks = {}
  for i = 1, 10 do
    tasks[i] = loop:spawn(function()
      local evs = {}
      for ev in c.runs:stream{ query = "nvim " .. i, effort = "low" } do evs[#evs + 1] = brief(ev) end
      return evs
    end)
  end
  loop:spawn(function()
    local all = {}
    local ok2, err = pcall(function()
      for i = 1, 10 do all[i] = tasks[i]:wait() end
    end)
    out.busy_ticks, out.busy_ms = mark()
    out.streams = all
    out.error = not ok2 and tostring(err) or nil
    out.loop_ticks = loop.ticks
    vim.schedule(plain_phase)
  end)
end)
