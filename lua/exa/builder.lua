--- Run builders: `exa.run("query"):effort("low"):schema{...}` is sugar that
-- produces the plain params table `create` and `stream` take. Each method sets
-- one API field and returns the builder, so calls chain; @{Builder:params}
-- returns a fresh copy, so a builder can be reused as a template. `create`,
-- `stream` (and anything taking params) accept a builder or a table alike.
--
--     local base = exa.run():effort("medium"):schema(schema)
--     local a = client.runs:create(base:query("first question"))
--     local b = client.runs:create(base:query("second question"):previous(a.id))
-- @module exa.builder
local setmetatable, getmetatable, type, pairs = setmetatable, getmetatable, type, pairs
local string_format, string_sub = string.format, string.sub

local body = require "exa.wire.body"
local errors = require "exa.errors"
local validate = require "exa.validate"

local M = {}

--- A run under construction (`exa.run(query)` makes one).
-- @type Builder
local Builder = {}
-- A builder's metatable. A method a builder does not have is a validation
-- error naming the nearest one (b:efort("low"): did you mean effort?), not
-- "attempt to call a nil value".
local BuilderMT = {}
BuilderMT.__index = function(_, k)
  local m = Builder[k]
  if m ~= nil then return m end
  if type(k) == "string" and string_sub(k, 1, 1) ~= "_" then
    local names = {}
    for n in pairs(Builder) do if string_sub(n, 1, 1) ~= "_" then names[#names + 1] = n end end
    local near = validate.near(k, names)
    errors.invalid(k, near and string_format("exa.run() builders have no method %s: did you mean %s?", k, near)
      or string_format("exa.run() builders have no method %s (set any API field with :set(name, value))", k))
  end
  return nil
end

local function field_setter(name)
  return function(self, v)
    self._p[name] = v
    return self
  end
end

--- The question or task (`query`, required by `create`).
-- @function Builder:query
-- @tparam string q
-- @treturn Builder self
Builder.query = field_setter("query")

--- How hard the agent works (`effort`): `"low"`, `"medium"`, `"high"`, `"xhigh"`,
-- `"auto"`; names newer than this library pass through.
-- @function Builder:effort
-- @tparam string e
-- @treturn Builder self
Builder.effort = field_setter("effort")

--- A JSON Schema the structured output must follow (`outputSchema`). Also
-- `Builder:output_schema`.
-- @function Builder:schema
-- @tparam table schema
-- @treturn Builder self
Builder.schema = field_setter("outputSchema")
Builder.output_schema = Builder.schema

--- Instructions for the agent (`systemPrompt`). Also `Builder:system_prompt`.
-- @function Builder:system
-- @tparam string text
-- @treturn Builder self
Builder.system = field_setter("systemPrompt")
Builder.system_prompt = Builder.system

--- Your own string labels, stored with the run (`metadata`).
-- @function Builder:metadata
-- @tparam {[string]=string} t
-- @treturn Builder self
Builder.metadata = field_setter("metadata")

--- Continue from an earlier run (`previousRunId`): the agent sees its results.
-- Also `Builder:previous_run`.
-- @function Builder:previous
-- @tparam string run_id
-- @treturn Builder self
Builder.previous = field_setter("previousRunId")
Builder.previous_run = Builder.previous

--- Where the agent may look (`dataSources`, a post-beta field; passed as given).
-- @function Builder:data_sources
-- @tparam table sources
-- @treturn Builder self
Builder.data_sources = field_setter("dataSources")

--- Rows the agent should process (`input.data`): an array of record tables,
-- for example the companies to enrich.
-- @tparam {table,...} rows
-- @treturn Builder self
function Builder:data(rows)
  self._p.input = self._p.input or {}
  self._p.input.data = rows
  return self
end

--- Records the agent should leave out of its results (`input.exclusion`).
-- @tparam {table,...} rows
-- @treturn Builder self
function Builder:exclude(rows)
  self._p.input = self._p.input or {}
  self._p.input.exclusion = rows
  return self
end

--- Any field by its API name, for fields newer than this library.
-- @tparam string name
-- @param value
-- @treturn Builder self
-- @raise @{Error} of kind `validation` when `name` is not a string
function Builder:set(name, value)
  if type(name) ~= "string" then
    errors.invalid("name", "builder:set needs a field name string")
  end
  validate.create_field_name(name)
  self._p[name] = value
  return self
end

--- The params table: a deep copy, so changing the builder later does not change it.
-- @treturn table
function Builder:params()
  return body.copy(self._p, "params")
end

-- exa.run("...") for printing.
function BuilderMT.__tostring(self)
  return "exa.run(" .. (type(self._p.query) == "string" and ("%q"):format(self._p.query) or "") .. ")"
end

--- @section end

-- exa.run(query): a new builder (the public name is exa.run).
function M.run(query)
  return setmetatable({ _p = { query = query } }, BuilderMT)
end

-- params as given, or the params of a builder.
function M.unwrap(p)
  if getmetatable(p) == BuilderMT then return p._p end
  return p
end

return M
