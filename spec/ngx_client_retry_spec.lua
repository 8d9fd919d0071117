-- Retries through the ngx backend inside nginx: spec/ngx/client_retry.lua.
require("helpers.ngx_scenarios").define("client_retry",
  { describe = describe, it = it, setup = setup, teardown = teardown, pending = pending })
