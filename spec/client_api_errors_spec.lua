-- Every error code of the contract, HTML bodies, transport failures, the key
-- never leaking: through the curl backend and the ngx backend (inside nginx),
-- spec/scenarios/client_api_errors.lua.
require("helpers.scenarios").define("client_api_errors",
  { describe = describe, it = it, setup = setup, teardown = teardown, pending = pending })
