-- A user's init.lua with the plugin installed by lazy.nvim as
--   { "exa-lua/exa-agent", build = "make nvim",
--     config = function(plugin)
--       vim.opt.rtp:append(plugin.dir .. "/nvim")
--       require("exa_nvim").setup{}
--     end }
-- lazy.nvim puts plugin.dir on runtimepath, then runs config.
local dir = assert(os.getenv("EXA_LAZY_DIR"), "EXA_LAZY_DIR")
vim.opt.runtimepath:prepend(dir)
vim.opt.runtimepath:append(dir .. "/nvim")
require("exa_nvim").setup{}
