-- exa_mock.schema: the simulator's JSON Schema support is the client's own
-- validator (the file lua/exa/schema.lua, pure Lua), bound to the JSON values
-- exa_mock.json decodes: one validator, so what the simulator generates is
-- what exa.check_output accepts. See that file for the keywords it knows.
-- The simulator's rock installs that same file as exa_mock.jsonschema, so the
-- rock stands alone; in a checkout the file is loaded from lua/exa/ under that
-- name too (no module of the client is loaded either way).
local json = require "exa_mock.json"

local ok, validator = pcall(require, "exa_mock.jsonschema")
if not ok then
  local path = package.searchpath("exa.schema", package.path)
  if not path then error("exa_mock: the JSON Schema validator (exa_mock.jsonschema) is not installed", 0) end
  validator = assert(loadfile(path))("exa_mock.jsonschema")
  package.loaded["exa_mock.jsonschema"] = validator
end

return validator.new{ null = json.null, is_array = json.is_array }
