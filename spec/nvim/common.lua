-- Shared by the scripts headless Neovim runs for spec/nvim_spec.lua: load
-- the checkout's exa (LuaJIT build), and write a JSON result then quit.
local root = assert(os.getenv("EXA_ROOT"), "EXA_ROOT")
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
package.cpath = root .. "/build/jit/?.so;" .. package.cpath

local M = {}

function M.finish(result)
  local exa = require "exa"
  local f = assert(io.open(assert(os.getenv("EXA_OUT"), "EXA_OUT"), "w"))
  f:write((assert(exa.json_encode(result))))
  f:close()
  vim.schedule(function() vim.cmd("qa!") end)
end

-- never hang a test: quit after 60 s whatever happens
local guard = vim.loop.new_timer()
guard:start(60000, 0, function() M.finish{ error = "timed out inside nvim" } end)

return M
