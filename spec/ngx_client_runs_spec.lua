-- client.runs through the ngx backend inside nginx: spec/ngx/client_runs.lua.
require("helpers.ngx_scenarios").define("client_runs",
  { describe = describe, it = it, setup = setup, teardown = teardown, pending = pending })
