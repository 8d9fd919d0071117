-- Shared by the scripts headless Neovim runs for spec/nvim_spec.lua. Neovim
-- starts from a user config (spec/nvim/init_*.lua) that puts the plugin on
-- runtimepath as a plugin manager does; exa comes from there (the copy's
-- lua/ and the core its `make nvim` built). finish() writes a JSON result
-- and quits.
local M = {}

function M.exa()
  return require("exa_nvim.paths").require_exa()
end

function M.finish(result)
  local ok, exa = pcall(M.exa)
  local f = assert(io.open(assert(os.getenv("EXA_OUT"), "EXA_OUT"), "w"))
  if ok then
    f:write((assert(exa.json_encode(result))))
  else
    f:write(vim.fn.json_encode(result))
  end
  f:close()
  vim.schedule(function() vim.cmd("qa!") end)
end

-- Wait on the main thread (vim.wait) until cond() or 30 s; false on timeout.
function M.wait(cond)
  return vim.wait(30000, cond, 10)
end

-- never hang a test: quit after 60 s whatever happens
local guard = vim.loop.new_timer()
guard:start(60000, 0, vim.schedule_wrap(function() M.finish{ error = "timed out inside nvim" } end))

return M
