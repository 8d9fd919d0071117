-- Streams through the ngx backend inside nginx: spec/ngx/client_stream.lua.
require("helpers.ngx_scenarios").define("client_stream",
  { describe = describe, it = it, setup = setup, teardown = teardown, pending = pending })
