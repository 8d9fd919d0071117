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
local cost = require "exa.cost"
local citations = require "exa.citations"
local check = require "exa.check"

local exa = {
  VERSION = require "exa.version",
  new = client.new,
  null = json.null,
  array = json.array,
  is_array = json.is_array,
  is_error = errors.is_error,
  run = builder.run,
  TERMINAL_EVENTS = require("exa.stream").TERMINAL_EVENTS,
  TERMINAL_STATUS = require("exa.runs").TERMINAL_STATUS,
  -- run helpers: price before a run, citations and schema check after
  estimate = cost.estimate,
  PRICES = cost.PRICES,
  citations = citations.citations,
  check_output = check.check_output,
  schema = check.validator,
}

--- Encode / decode JSON the way the client does (exa.null, arrays kept).
exa.json_encode = json.encode
exa.json_decode = json.decode

return exa
