-- The example plugin, as a user would run it: :ExaResearch <query>.
local common = dofile(os.getenv("EXA_ROOT") .. "/spec/nvim/common.lua")
vim.opt.runtimepath:append(os.getenv("EXA_ROOT") .. "/examples/nvim")
vim.cmd("runtime plugin/exa_research.lua")
local updates = 0
vim.api.nvim_create_autocmd("User", {
  pattern = "ExaResearchDone",
  callback = function()
    local buf = vim.api.nvim_get_current_buf()
    common.finish{
      lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false),
      name = vim.api.nvim_buf_get_name(buf),
      updates = updates,
    }
  end,
})
vim.cmd("ExaResearch AI infrastructure startups in Berlin")
-- the editor keeps answering while the run goes: count buffer updates seen
-- from the main loop
local buf = vim.api.nvim_get_current_buf()
vim.api.nvim_buf_attach(buf, false, { on_lines = function() updates = updates + 1 end })
