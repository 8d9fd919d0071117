-- :ExaResearch <query>  -- start a research run; a scratch buffer fills live.
if vim.g.loaded_exa_research then return end
vim.g.loaded_exa_research = true

vim.api.nvim_create_user_command("ExaResearch", function(cmd)
  require("exa_research").research(cmd.args)
end, { nargs = "+", desc = "Exa research run into a scratch buffer" })
