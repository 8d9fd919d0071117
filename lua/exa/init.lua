-- exa: the Exa Agent API for Lua.
--
--   local exa = require "exa"
--   local client = exa.new{ api_key = ..., base_url = ..., betas = {...} }
--   local run = client.runs:create{ query = "..." }
--   for ev in client.runs:stream(exa.run("..."):effort("low")) do ... end
--
-- Failures raise error objects (exa.is_error(e)); see exa/errors.lua.
local require = require

local client = require "exa.client"
local errors = require "exa.errors"
local builder = require "exa.builder"
local json = require "exa.json"

local exa = {
  VERSION = require "exa.version",
  new = client.new,
  null = json.null,
  array = json.array,
  is_array = json.is_array,
  is_error = errors.is_error,
  run = builder.run,
  TERMINAL_EVENTS = require("exa.api").TERMINAL_EVENTS,
  TERMINAL_STATUS = require("exa.api").TERMINAL_STATUS,
  --- exa.loop([opts]): a loop to run tasks on (see exa/loop.lua).
  loop = require("exa.loop").new,
}

--- Encode / decode JSON the way the client does (exa.null, arrays kept).
exa.json_encode = json.encode
exa.json_decode = json.decode

return exa
