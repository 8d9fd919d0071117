-- :checkhealth exa -- the module loads (exa.core built for this LuaJIT),
-- libcurl's version, the API key is set, the API answers, which loop.
local M = {}

local h = vim.health or require "health"
local start = h.start or h.report_start
local ok = h.ok or h.report_ok
local warn = h.warn or h.report_warn
local err = h.error or h.report_error
local info = h.info or h.report_info

function M.check()
  start("exa-agent")
  local paths = require "exa_nvim.paths"
  paths.setup()
  local loaded, core = pcall(require, "exa.core")
  if not loaded then
    err(paths.missing_core(), { "build it: " .. paths.build, "then :checkhealth exa again" })
    return
  end
  local exa = require "exa"
  ok(string.format("exa %s loads; exa.core from %s", exa.VERSION,
    package.searchpath and package.searchpath("exa.core", package.cpath) or paths.core))
  ok("libcurl " .. tostring(core.curl_version))

  local config = require("exa_nvim").config
  local key = config.api_key or os.getenv("EXA_API_KEY")
  if type(key) ~= "string" or key == "" then
    err("no API key", { "set EXA_API_KEY, or require('exa_nvim').setup{ api_key = ... }" })
    return
  end
  ok(string.format("API key set (%s, %d characters)", config.api_key and "setup{api_key}" or "EXA_API_KEY", #key))

  local made, client = pcall(exa.new, {
    api_key = key, base_url = config.base_url, timeout = 10, connect_timeout = 5, max_retries = 0,
  })
  if not made then
    err("exa.new: " .. tostring(client))
    return
  end
  -- outside any task: this call waits through vim.wait, the editor goes on
  local answered, res = pcall(client.runs.list, client.runs, { limit = 1 })
  if answered then
    ok(string.format("the API answers at %s (runs:list)", client.base_url))
  elseif exa.is_error(res, "authentication") or exa.is_error(res, "permission") then
    err(string.format("%s refuses the key: %s", client.base_url, tostring(res)))
  else
    err(string.format("the API at %s does not answer: %s", client.base_url, tostring(res)),
      { "check EXA_BASE_URL / setup{base_url}, the network, a proxy" })
  end

  local loop = client.loop
  if loop.driver == "uv" and loop.host_wait then
    ok("loop: uv (the editor's own); runs are tasks on it, and a call outside a task waits "
      .. "through vim.wait")
  else
    warn("loop: " .. tostring(loop.driver) .. ": calls may block the editor")
  end
  client:close()
  info("commands: :ExaResearch <query>, :ExaCancel[!]")
end

return M
