-- exa_nvim.paths: put this checkout's Lua library (lua/) and the exa.core
-- that `make nvim` built (build/nvim/) on Lua's paths, and say how to build
-- the core when it is missing. The plugin is the nvim/ folder of a checkout
-- of exa-agent, as a plugin manager clones it.
local M = {}

local function dirname(p) return (p:gsub("/[^/]*$", "")) end

local here = debug.getinfo(1, "S").source:gsub("^@", "")
-- <root>/nvim/lua/exa_nvim/paths.lua
M.plugin = vim.fn.fnamemodify(dirname(dirname(dirname(here))), ":p"):gsub("/$", "")
M.root = dirname(M.plugin)
M.core = M.root .. "/build/nvim/exa/core.so"
M.build = "make -C " .. vim.fn.shellescape(M.root) .. " nvim"

local done = false

--- Prepend the checkout's lua/ and build/nvim/ to package.path and
--- package.cpath (once).
function M.setup()
  if done then return end
  done = true
  package.path = M.root .. "/lua/?.lua;" .. M.root .. "/lua/?/init.lua;" .. package.path
  package.cpath = M.root .. "/build/nvim/?.so;" .. package.cpath
end

--- What to say when exa.core is missing.
function M.missing_core()
  return "exa.core (the C module) is not built for Neovim's LuaJIT: run " .. M.build
    .. " (the plugin manager's build step: lazy.nvim build = \"make nvim\", packer run = \"make nvim\";"
    .. " it needs libcurl4-openssl-dev and libluajit-5.1-dev)"
end

--- require "exa", or raise one clear line when the core is missing.
function M.require_exa()
  M.setup()
  local ok, exa = pcall(require, "exa")
  if ok then return exa end
  if tostring(exa):find("module 'exa.core' not found", 1, true) then error(M.missing_core(), 0) end
  error(exa, 0)
end

return M
