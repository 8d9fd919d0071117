-- A user's init.lua with the plugin installed by packer.nvim as
--   use { "exa-lua/exa-agent", rtp = "nvim", run = "make nvim" }
-- packer clones into site/pack/packer/start/ and, for rtp = "nvim", puts
-- that folder on runtimepath; Neovim then sources its plugin/ at startup.
local site = assert(os.getenv("EXA_SITE"), "EXA_SITE")
vim.opt.packpath:prepend(site)
vim.opt.runtimepath:append(site .. "/pack/packer/start/exa-agent/nvim")
