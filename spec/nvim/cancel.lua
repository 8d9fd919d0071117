-- Two runs: the first's buffer is wiped once its run exists, the second is
-- cancelled with :ExaCancel from its buffer. The run ids and what each job
-- and buffer ended with.
local common = dofile(os.getenv("EXA_ROOT") .. "/spec/nvim/common.lua")
local plugin = require "exa_nvim"
local out = {}
vim.cmd("ExaResearch wipe me")
local wiped = plugin.state.jobs[1]
common.wait(function() return wiped.run_id ~= nil end)
vim.cmd("bwipeout! " .. wiped.buf)
out.wiped_valid = vim.api.nvim_buf_is_valid(wiped.buf)

vim.cmd("ExaResearch cancel me")
local cancelled = plugin.state.jobs[2]
common.wait(function() return cancelled.run_id ~= nil end)
vim.cmd("ExaCancel")
common.wait(function() return wiped.done and cancelled.done end)
-- the buffer changes the tasks scheduled run first
local flushed = false
vim.schedule(function() flushed = true end)
common.wait(function() return flushed end)
out.wiped = { run_id = wiped.run_id, state = wiped.state, done = wiped.done }
out.cancelled = { run_id = cancelled.run_id, state = cancelled.state,
  lines = vim.api.nvim_buf_get_lines(cancelled.buf, 0, -1, false) }
common.finish(out)
