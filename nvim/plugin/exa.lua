-- :ExaResearch <query> and :ExaCancel[!] (see nvim/README.md). Nothing
-- loads until a command runs.
if vim.g.loaded_exa_nvim then return end
vim.g.loaded_exa_nvim = true
require("exa_nvim").commands()
