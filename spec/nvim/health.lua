-- :checkhealth exa, as a user runs it; the report's lines are the result.
local common = dofile(os.getenv("EXA_ROOT") .. "/spec/nvim/common.lua")
vim.cmd("checkhealth exa")
common.finish{ lines = vim.api.nvim_buf_get_lines(0, 0, -1, false) }
