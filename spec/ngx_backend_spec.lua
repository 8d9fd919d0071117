-- The ngx backend (lua/exa/ngx_http.lua) inside a real nginx: spec/scenarios/backend.lua.
require("helpers.scenarios").define("backend",
  { describe = describe, it = it, setup = setup, teardown = teardown, pending = pending })
