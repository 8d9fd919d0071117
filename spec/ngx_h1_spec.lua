-- The ngx backend reading the HTTP/1 reader's hostile cases inside a real nginx: spec/scenarios/h1.lua.
require("helpers.scenarios").define("h1",
  { describe = describe, it = it, setup = setup, teardown = teardown, pending = pending })
