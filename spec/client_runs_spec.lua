-- Every endpoint of client.runs against the simulator, through the curl
-- backend and the ngx backend (inside nginx): spec/scenarios/client_runs.lua.
require("helpers.scenarios").define("client_runs",
  { describe = describe, it = it, setup = setup, teardown = teardown, pending = pending })
