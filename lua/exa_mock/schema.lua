-- exa_mock.schema: the simulator's JSON Schema support is the client's own
-- validator (lua/exa/schema.lua), bound to the JSON values exa.json decodes:
-- one validator, so what the simulator generates is what exa.check_output
-- accepts. See that file for the keywords it understands.
local json = require "exa.json"

return require("exa.schema").new{ null = json.null, is_array = json.is_array }
