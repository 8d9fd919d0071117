-- The ngx backend in nginx phases without cosockets: spec/scenarios/phases.lua.
require("helpers.scenarios").define("phases",
  { describe = describe, it = it, setup = setup, teardown = teardown, pending = pending })
