-- Inside nginx: an exa client on a chosen transport, for the specs and the bench.
--
--   local new_client = require("helpers.ngx_client").new
--   local c = new_client({ api_key = ..., base_url = ... }, "ngx")   -- or "curl"
local M = {}

function M.how(transport)
  return ('exa.new{transport = "%s"}'):format(transport)
end

function M.new(o, transport)
  local exa = require "exa"
  o = o or {}
  o.transport = transport or "ngx"
  return exa.new(o)
end

return M
