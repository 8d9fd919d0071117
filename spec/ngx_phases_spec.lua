-- The ngx backend in nginx phases without cosockets: spec/ngx/phases.lua.
require("helpers.scenarios").define("phases",
  { describe = describe, it = it, setup = setup, teardown = teardown, pending = pending })
