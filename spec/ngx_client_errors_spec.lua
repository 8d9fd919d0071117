-- Errors and timeouts through the ngx backend inside nginx: spec/ngx/client_errors.lua.
require("helpers.ngx_scenarios").define("client_errors",
  { describe = describe, it = it, setup = setup, teardown = teardown, pending = pending })
