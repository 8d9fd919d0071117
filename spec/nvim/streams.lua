-- 10 streams on exa.loop{uv = vim.loop} while a 20 ms timer counts ticks;
-- first the same timer on an idle loop for 1 s, for comparison.
local common = dofile(os.getenv("EXA_ROOT") .. "/spec/nvim/common.lua")
local exa = require "exa"
local uv = vim.loop

local out = {}
local ticks = 0
local ticker = uv.new_timer()
ticker:start(20, 20, function() ticks = ticks + 1 end)

local t0 = uv.now()
local idle = uv.new_timer()
idle:start(1000, 0, function()
  uv.update_time()
  out.idle_ticks, out.idle_ms = ticks, uv.now() - t0
  ticks = 0
  local t1 = uv.now()
  local loop = exa.loop{ uv = uv }
  local c = exa.new{ loop = loop }
  local ok, e = pcall(c.runs.list, c.runs)
  out.outside_ok, out.outside_kind = ok, type(e) == "table" and e.kind or tostring(e)
  local tasks = {}
  for i = 1, 10 do
    tasks[i] = loop:spawn(function()
      local evs = {}
      for ev in c.runs:stream{ query = "nvim " .. i, effort = "low" } do
        evs[#evs + 1] = { id = ev.id, event = ev.event, run = type(ev.data) == "table" and ev.data.id or nil }
      end
      return evs
    end)
  end
  loop:spawn(function()
    local all = {}
    local ok2, err = pcall(function()
      for i = 1, 10 do all[i] = tasks[i]:wait() end
    end)
    uv.update_time()
    out.busy_ticks, out.busy_ms = ticks, uv.now() - t1
    out.streams = all
    out.error = not ok2 and tostring(err) or nil
    out.loop_ticks = loop.ticks
    ticker:stop()
    common.finish(out)
  end)
end)
