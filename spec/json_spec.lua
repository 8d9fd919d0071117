-- JSON behaviour the client relies on, through exa.wire.json (and exa's exports).
local json = require "exa.wire.json"
local exa = require "exa"

local function roundtrip(v)
  local s = assert(json.encode(v))
  return assert(json.decode(s)), s
end

describe("exa.wire.json", function()
  it("has one null sentinel, shared with exa.null", function()
    assert.equals(json.null, exa.null)
    local v = assert(json.decode('{"a":null,"b":[null,1]}'))
    assert.equals(json.null, v.a)
    assert.equals(json.null, v.b[1])
    assert.equals('{"a":null}', json.encode({ a = json.null }))
  end)

  it("keeps array-ness of decoded arrays, empty ones included", function()
    local v = assert(json.decode('{"a":[],"o":{},"n":[[],{}]}'))
    assert.is_true(json.is_array(v.a))
    assert.is_false(json.is_array(v.o))
    local _, s = roundtrip(v)
    local back = assert(json.decode(s))
    assert.is_true(json.is_array(back.a))
    assert.equals(0, #back.a)
    assert.is_false(json.is_array(back.o))
    assert.is_true(json.is_array(back.n[1]))
    assert.is_false(json.is_array(back.n[2]))
    assert.equals('[[],{}]', json.encode(v.n))
  end)

  it("encodes an empty array marked with json.array as []", function()
    assert.equals('{"input":{"data":[]}}', json.encode({ input = { data = json.array({}) } }))
    assert.equals('[]', json.encode(exa.array()))
    assert.equals('{}', json.encode({}))
  end)

  it("round-trips metadata maps exactly", function()
    local md = { slack_channel_id = "C123ABC", slack_thread_id = "1745444400.123456", user_id = "U123ABC",
      ["weird key/ü"] = "line\nbreak \"quoted\"" }
    local back = roundtrip({ metadata = md })
    assert.same(md, back.metadata)
    for k, v in pairs(back.metadata) do
      assert.equals("string", type(v), k)
    end
  end)

  it("round-trips a nested outputSchema exactly", function()
    local schema = {
      type = "object", required = { "companies" },
      properties = {
        companies = {
          type = "array", maxItems = 10,
          items = {
            type = "object", required = { "name", "round", "amount", "sourceUrl" },
            properties = {
              name = { type = "string" }, round = { type = "string", enum = { "A", "B" } },
              amount = { type = "string" }, sourceUrl = { type = "string", format = "uri" },
            },
            additionalProperties = false,
          },
        },
      },
    }
    local back, s = roundtrip(schema)
    assert.same(schema, (function(t)
      -- compare shapes ignoring array metatables
      local function strip(x)
        if type(x) ~= "table" then return x end
        local o = {}
        for k, v in pairs(x) do o[k] = strip(v) end
        return o
      end
      return strip(t)
    end)(back))
    assert.is_true(json.is_array(back.required))
    assert.equals(10, back.properties.companies.maxItems)
    -- and re-encoding gives the same document
    assert.same(assert(json.decode(s)), assert(json.decode(assert(json.encode(back)))))
  end)

  it("keeps integers exact up to 2^53 (as integers on Lua 5.3+)", function()
    local v = assert(json.decode('{"a":9007199254740991,"b":-9007199254740991,"c":0.55}'))
    assert.equals(9007199254740991, v.a)
    assert.equals(-9007199254740991, v.b)
    assert.equals(0.55, v.c)
    assert.matches('"a":9007199254740991', assert(json.encode({ a = v.a })))
    if math.type then
      -- integral numbers come back as integers on 5.3+ (cjson itself gives floats)
      local w = assert(json.decode("[1, 9007199254740992, -42]"))
      assert.equals("integer", math.type(w[1]))
      assert.equals("integer", math.type(w[2]))
      assert.equals("[1,9007199254740992,-42]", json.encode(w))
      -- beyond 2^53 cjson parses through a double: not exact (documented limit)
    end
  end)

  it("returns nil, err for bad JSON and never raises", function()
    for _, bad in ipairs{ "{bad", "", "<html><body>502</body></html>", "[1,2", "nul", '{"a":}' } do
      local ok, v, err = pcall(json.decode, bad)
      assert.is_true(ok, bad)
      assert.is_nil(v, bad)
      assert.is_string(err, bad)
    end
  end)

  it("returns nil, err for values JSON cannot hold", function()
    local ok, v, err = pcall(json.encode, { f = function() end })
    assert.is_true(ok)
    assert.is_nil(v)
    assert.is_string(err)
  end)
end)
