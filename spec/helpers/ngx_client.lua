-- Inside nginx: an exa client on a chosen transport, for the specs and the bench.
--
--   local new_client = require("helpers.ngx_client").new
--   local c = new_client({ api_key = ..., base_url = ... }, "ngx")   -- or "curl"
--
-- Once exa.new takes `transport` (the transport refactor), this is just
-- exa.new{transport = ...}. Until then: "curl" is plain exa.new{} (libcurl,
-- blocking inside nginx), and "ngx" puts the ngx backend where transport.lua
-- keeps its core.multi: the same request specs and handle calls, with
-- fresh_connect on POSTs as the refactor gives creates, and ngx.sleep for
-- backoff unless the caller passes a sleep.
local M = {}

local native -- does exa.new take transport = "ngx"?

function M.native()
  if native == nil then
    local exa = require "exa"
    local ok, c = pcall(exa.new, { api_key = "probe", transport = "ngx", max_retries = 0 })
    if ok and c and c.close then c:close() end
    native = ok
  end
  return native
end

function M.how(transport)
  if M.native() then return ('exa.new{transport = "%s"}'):format(transport) end
  return transport == "ngx" and "ngx backend in place of core.multi" or "exa.new{} (libcurl)"
end

function M.new(o, transport)
  local exa = require "exa"
  o = o or {}
  transport = transport or "ngx"
  if M.native() then
    o.transport = transport
    return exa.new(o)
  end
  if transport == "curl" then return exa.new(o) end
  local backend = require("exa.ngx_http").new()
  if o.sleep == nil then o.sleep = backend.sleep end
  local c = exa.new(o)
  c._t.multi = {
    request = function(_, req)
      if req.method == "POST" then req.fresh_connect = true end
      return backend.start(req)
    end,
    close = function() end,
  }
  return c
end

return M
