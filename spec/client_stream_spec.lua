-- SSE streams through the curl backend and the ngx backend (inside nginx):
-- spec/scenarios/client_stream.lua.
require("helpers.scenarios").define("client_stream",
  { describe = describe, it = it, setup = setup, teardown = teardown, pending = pending })
