-- exa.builder: exa.run("query"):effort("low"):schema{...} -- sugar that
-- produces the plain params table create/stream take. Each method sets one
-- API field and returns the builder; :params() returns a fresh copy, so a
-- builder can be reused as a template.
local setmetatable, getmetatable, type = setmetatable, getmetatable, type

local body = require "exa.body"
local errors = require "exa.errors"

local M = {}
local Builder = {}
Builder.__index = Builder

local function field_setter(name)
  return function(self, v)
    self._p[name] = v
    return self
  end
end

Builder.query = field_setter("query")
Builder.effort = field_setter("effort")
Builder.schema = field_setter("outputSchema")
Builder.output_schema = Builder.schema
Builder.system = field_setter("systemPrompt")
Builder.system_prompt = Builder.system
Builder.metadata = field_setter("metadata")
Builder.previous = field_setter("previousRunId")
Builder.previous_run = Builder.previous
Builder.data_sources = field_setter("dataSources")

--- Rows the agent should process (input.data).
function Builder:data(rows)
  self._p.input = self._p.input or {}
  self._p.input.data = rows
  return self
end

--- Records the agent should avoid (input.exclusion).
function Builder:exclude(rows)
  self._p.input = self._p.input or {}
  self._p.input.exclusion = rows
  return self
end

--- Any field by its API name (for fields newer than this library).
function Builder:set(name, value)
  if type(name) ~= "string" then
    errors.invalid("name", "builder:set needs a field name string")
  end
  self._p[name] = value
  return self
end

function Builder:params()
  return body.copy(self._p, "params")
end

function Builder:__tostring()
  return "exa.run(" .. (type(self._p.query) == "string" and ("%q"):format(self._p.query) or "") .. ")"
end

function M.run(query)
  return setmetatable({ _p = { query = query } }, Builder)
end

--- params as given, or the params of a builder.
function M.unwrap(p)
  if getmetatable(p) == Builder then return p._p end
  return p
end

return M
