-- The ngx backend (lua/exa/backend/ngx.lua) inside a real nginx: spec/scenarios/backend.lua.
require("helpers.scenarios").define("backend",
  { describe = describe, it = it, setup = setup, teardown = teardown, pending = pending })
