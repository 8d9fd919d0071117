-- Random disconnects (issue 7) through the curl backend and the ngx backend
-- (inside nginx): spec/scenarios/random_disconnect.lua.
require("helpers.scenarios").define("random_disconnect",
  { describe = describe, it = it, setup = setup, teardown = teardown, pending = pending })
