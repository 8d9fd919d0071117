-- Three :ExaResearch at once against an account limited to 2 active runs:
-- the third queues and starts when a slot frees. Each buffer's lines, the
-- job's state, the quickfix list, and how many buffer updates were seen.
local common = dofile(os.getenv("EXA_ROOT") .. "/spec/nvim/common.lua")
local plugin = require "exa_nvim"
local updates, done = 0, 0
vim.api.nvim_create_autocmd("User", { pattern = "ExaResearchDone", callback = function() done = done + 1 end })
local bufs = {}
for i = 1, 3 do
  vim.cmd("ExaResearch startups in Berlin " .. i)
  bufs[i] = vim.api.nvim_get_current_buf()
  vim.api.nvim_buf_attach(bufs[i], false, { on_lines = function() updates = updates + 1 end })
end
common.wait(function() return done == 3 end)
local out = { updates = updates, jobs = {} }
for i, job in ipairs(plugin.state.jobs) do
  out.jobs[i] = { state = job.state, run_id = job.run_id, lines = vim.api.nvim_buf_get_lines(bufs[i], 0, -1, false) }
end
local qf = vim.fn.getqflist({ title = 1, items = 1 })
out.qf_title = qf.title
out.qf = {}
for i, it in ipairs(qf.items) do out.qf[i] = it.text end
common.finish(out)
