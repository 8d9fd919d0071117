-- exa.schema: the one JSON Schema validator (exa.check_output and the
-- simulator), on every Lua.
local json = require "exa.wire.json"
local S = require("exa.schema").new{ null = json.null, is_array = json.is_array }

local function J(s)
  local v = json.decode(s)
  assert(v ~= nil, s)
  return v
end

local function paths(schema, value)
  local out = {}
  for _, e in ipairs(S.errors(J(schema), J(value), { path = "v" })) do out[#out + 1] = e.path .. " " .. e.message end
  table.sort(out)
  return out
end

describe("exa.schema", function()
  it("is one pure Lua file: it loads with no exa.core and no other module", function()
    local f = assert(io.open("lua/exa/schema.lua"))
    local src = f:read("*a")
    f:close()
    local env = setmetatable({ require = function(m) error("schema.lua requires " .. m) end }, { __index = _G })
    local chunk
    if setfenv then
      chunk = assert(loadstring(src, "=schema"))
      setfenv(chunk, env)
    else
      chunk = assert(load(src, "=schema", "t", env))
    end
    local M = chunk()
    local plain = M.new() -- defaults: a list is a table with [1]
    assert.is_true(plain.validate({ type = "array", items = { type = "integer" } }, { 1, 2 }))
    assert.is_false((plain.validate({ type = "array", items = { type = "integer" } }, { 1, 2.5 })))
  end)

  it("collects every error with its path, in grounding's spelling", function()
    local schema = [[{"type":"object","required":["name","companies"],"additionalProperties":false,
      "properties":{"name":{"type":"string","minLength":2},"companies":{"type":"array","maxItems":2,
      "items":{"type":"object","required":["url"],"properties":{"url":{"type":"string","format":"uri"},
      "odd key":{"type":"integer"}}}}}}]]
    assert.same({
      "v.companies has 3 items, more than maxItems 2",
      "v.companies[0].url \"nope\" is not a valid uri",
      "v.companies[1].url missing required property \"url\"",
      "v.companies[2][\"odd key\"] expected integer, got 1.5",
      "v.extra unexpected property \"extra\" (additionalProperties is false)",
      "v.name shorter than minLength 2",
    }, paths(schema, [[{"name":"x","extra":1,"companies":[{"url":"nope"},{},{"url":"https://a.example","odd key":1.5}]}]]))
    assert.same({}, paths(schema, [[{"name":"ok","companies":[{"url":"https://a.example"}]}]]))
    local first = S.errors(J(schema), J('{"name":1,"companies":1}'), { max = 1 })
    assert.equal(1, #first)
    local ok, msg = S.validate(J(schema), J('{"name":"ok"}'))
    assert.is_false(ok)
    assert.equal('$.companies: missing required property "companies"', msg)
  end)

  it("keywords of draft-07, 2019-09 and 2020-12", function()
    local cases = {
      -- schema, good value, bad value
      { '{"enum":["a",1,null]}', "1", '"b"' },
      { '{"const":{"a":[1]}}', '{"a":[1]}', '{"a":[2]}' },
      { '{"type":["string","null"]}', "null", "3" },
      { '{"type":"integer","minimum":1,"exclusiveMaximum":5}', "4", "5" },
      { '{"type":"number","maximum":5,"exclusiveMaximum":true}', "4.5", "5" },
      { '{"multipleOf":0.5}', "1.5", "1.2" },
      { '{"type":"string","maxLength":2}', '"éé"', '"abc"' },
      { '{"items":[{"type":"string"},{"type":"integer"}],"additionalItems":false}', '["a",1]', '["a",1,2]' },
      { '{"prefixItems":[{"type":"string"}],"items":{"type":"integer"}}', '["a",1,2]', '["a","b"]' },
      { '{"uniqueItems":true}', "[1,2]", "[1,1]" },
      { '{"contains":{"type":"string"},"minContains":2}', '["a","b",1]', '["a",1]' },
      { '{"dependentRequired":{"a":["b"]}}', '{"a":1,"b":2}', '{"a":1}' },
      { '{"dependencies":{"a":{"required":["c"]}}}', '{"a":1,"c":2}', '{"a":1}' },
      { '{"propertyNames":{"maxLength":3}}', '{"abc":1}', '{"abcd":1}' },
      { '{"minProperties":1,"maxProperties":1}', '{"a":1}', '{}' },
      { '{"anyOf":[{"type":"string"},{"type":"integer"}]}', "1", "1.5" },
      { '{"oneOf":[{"type":"integer"},{"type":"number"}]}', "1.5", "1" },
      { '{"allOf":[{"minimum":1},{"maximum":2}]}', "2", "3" },
      { '{"not":{"type":"string"}}', "1", '"s"' },
      { '{"if":{"properties":{"k":{"const":"x"}}},"then":{"required":["x"]},"else":{"required":["y"]}}',
        '{"k":"z","y":1}', '{"k":"x","y":1}' },
      { '{"$defs":{"p":{"type":"integer"}},"properties":{"a":{"$ref":"#/$defs/p"}}}', '{"a":1}', '{"a":"1"}' },
      { '{"definitions":{"n":{"type":["object","null"],"properties":{"next":{"$ref":"#/definitions/n"}}}},'
        .. '"$ref":"#/definitions/n"}', '{"next":{"next":null}}', '{"next":{"next":3}}' },
      { '{"type":"string","format":"date-time"}', '"2026-05-07T18:31:00.000Z"', '"2026-05-07"' },
      { '{"type":"string","format":"email"}', '"a@b.example"', '"a@b"' },
      { '{"type":"string","format":"uuid"}', '"123e4567-e89b-12d3-a456-426614174000"', '"123"' },
      { '{"type":"string","format":"ipv4"}', '"192.0.2.1"', '"192.0.2.256"' },
      { '{"additionalProperties":{"type":"integer"}}', '{"a":1}', '{"a":"1"}' },
      { "false", nil, "1" },
    }
    for _, c in ipairs(cases) do
      local schema = J(c[1])
      if c[2] then assert.is_true(S.validate(schema, J(c[2])), c[1] .. " should accept " .. c[2]) end
      assert.is_false((S.validate(schema, J(c[3]))), c[1] .. " should reject " .. c[3])
    end
    -- pattern and patternProperties hold ECMA regexes: not checked, and no property is called additional
    assert.is_true(S.validate(J('{"type":"string","pattern":"^\\\\d+$"}'), "abc"))
    assert.is_true(S.validate(J('{"patternProperties":{"^x":{}},"additionalProperties":false}'), J('{"ya":1}')))
  end)

  it("allow_null lets null through below the root only", function()
    local s = J('{"type":"object","properties":{"a":{"type":"string"}}}')
    assert.equal(1, #S.errors(s, J('{"a":null}')))
    assert.equal(0, #S.errors(s, J('{"a":null}'), { allow_null = true }))
    assert.equal(1, #S.errors(s, json.null, { allow_null = true }))
  end)

  it("check: a usable outputSchema or what is wrong with it", function()
    assert.is_nil(S.check(J('{"type":"object","properties":{"a":{"$ref":"#/$defs/x"}},"$defs":{"x":{}}}')))
    assert.matches("does not resolve", S.check(J('{"$ref":"#/nowhere"}')))
    assert.matches("unknown type", S.check(J('{"type":"thing"}')))
    assert.matches("minItems > maxItems", S.check(J('{"type":"array","minItems":3,"maxItems":1}')))
    assert.matches("must be an object", S.check(J("[1]")))
  end)

  if _VERSION == "Lua 5.4" then
    it("is the simulator's validator too", function()
      package.loaded["exa_mock.jsonschema"] = nil
      package.loaded["exa_mock.schema"] = nil
      local mock_schema = require "exa_mock.schema"
      -- the simulator's schema module is built from the same file, lua/exa/schema.lua
      -- (its rock installs that file as exa_mock.jsonschema; so does a checkout's loader)
      local v = package.loaded["exa_mock.jsonschema"]
      assert.is_table(v)
      assert.matches("lua/exa/schema%.lua$", debug.getinfo(v.new, "S").source)
      local ok, msg = mock_schema.validate(J('{"type":"integer"}'), 1.5)
      assert.is_false(ok)
      assert.equal("$: expected integer, got 1.5", msg)
    end)
  end
end)
