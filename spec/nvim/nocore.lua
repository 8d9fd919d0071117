-- :ExaResearch with no exa.core built: what the user is told.
local common = dofile(os.getenv("EXA_ROOT") .. "/spec/nvim/common.lua")
local messages = {}
vim.notify = function(msg) messages[#messages + 1] = msg end
vim.cmd("ExaResearch anything")
common.finish{ messages = messages }
