-- exa_mock.schema: the simulator's JSON Schema support is the client's own
-- validator (the file lua/exa/schema.lua, pure Lua), bound to the JSON values
-- exa_mock.json decodes: one validator, so what the simulator generates is
-- what exa.check_output accepts. See that file for the keywords it knows.
-- The simulator's rock installs that same file as exa_mock.jsonschema (so the
-- rock stands alone); from a checkout it is the client's exa.schema.
local json = require "exa_mock.json"

local ok, validator = pcall(require, "exa_mock.jsonschema")
if not ok then validator = require "exa.schema" end

return validator.new{ null = json.null, is_array = json.is_array }
