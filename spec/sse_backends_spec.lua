-- The SSE conformance cases over HTTP through the curl backend and the ngx
-- backend (inside nginx), every chunking: spec/scenarios/sse_conformance.lua.
require("helpers.scenarios").define("sse_conformance",
  { describe = describe, it = it, setup = setup, teardown = teardown, pending = pending })
