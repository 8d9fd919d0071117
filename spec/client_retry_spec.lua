-- Retries through the curl backend and the ngx backend (inside nginx):
-- spec/scenarios/client_retry.lua.
require("helpers.scenarios").define("client_retry",
  { describe = describe, it = it, setup = setup, teardown = teardown, pending = pending })
