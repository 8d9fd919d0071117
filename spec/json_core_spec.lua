-- The C core's JSON glue (src/json.c) where a fuzzer found it could be fooled:
-- its fragments are marked with a placeholder string built from a per-process
-- random nonce.  Nothing a server or a user sends can hold that nonce by
-- accident, but json_fuzz learns it from our comparisons; a string that starts
-- with the placeholder must then be refused, never taken for a fragment, and a
-- document that holds it refused, never decoded with an array emptied.
-- The spec reads the placeholder the way only a test would: debug.getupvalue.
local core = require "exa.core"

describe("exa.core JSON glue", function()
  local ph -- "\0exa:<nonce>:"
  for i = 1, 8 do
    local _, v = debug.getupvalue(core.json_encode, i)
    if type(v) == "string" and v:sub(1, 5) == "\0exa:" then ph = v end
  end

  -- Lua 5.1's debug.getupvalue does not read a C function's upvalues
  local can = ph ~= nil or _VERSION ~= "Lua 5.1"
  local function it_(name, fn)
    it(name, function()
      if not can then return pending("debug.getupvalue cannot read C upvalues on Lua 5.1") end
      fn()
    end)
  end

  local function refuses_encode(v)
    local s, err = core.json_encode(v)
    assert.is_nil(s)
    assert.matches("internal placeholder", err)
  end

  it_("finds its placeholder", function()
    assert.is_string(ph)
    assert.matches("^%z?exa:%x+:$", ph)
  end)

  it_("refuses, never splices, a string that starts with its placeholder where fragments are in play", function()
    local empty = setmetatable({}, core.array_mt) -- written through a fragment
    for _, v in ipairs {
      { a = empty, b = ph .. "1" },          -- the string of fragment 1, as a value
      { a = empty, [ph .. "1"] = true },     -- as a key
      { a = empty, b = { ph .. "99" } },     -- a fragment that does not exist
      { a = 2 ^ 60 + 0.5, b = ph .. "1x" },  -- an exact number is a fragment too
    } do
      refuses_encode(v)
    end
  end)

  it_("refuses a document that holds the placeholder rather than take it for an empty array", function()
    local q = '"\\u0000' .. ph:sub(2) .. '"' -- the placeholder as JSON text
    for _, doc in ipairs {
      '{"a":[],"b":[' .. q .. ']}', -- next to a real empty array: one more "empty" than marked
      '[' .. q .. ']',              -- alone
      '{"k":' .. q .. '}',          -- as a value
      '{' .. q .. ':1}',            -- as a key
      '[1,' .. q .. ']',
      q,
      '["' .. q:sub(2, -2) .. 'and more"]', -- starting with it, as json_encode refuses to write
    } do
      local v, err = core.json_decode(doc)
      assert.is_nil(v, doc)
      assert.matches("internal placeholder", err)
    end
    local v = assert(core.json_decode('{"a":[],"b":[[],[ ]],"s":"x' .. q:sub(2) .. '}'))
    assert.equal(0, #v.b[2])
    assert.equal(core.array_mt, getmetatable(v.b[1]))
  end)

  it_("refuses it also where nothing needs a fragment: what it writes, it reads back", function()
    for _, v in ipairs { { b = ph .. "1" }, { b = ph }, { [ph] = 1 }, ph } do refuses_encode(v) end
  end)

  it_("still writes empty arrays and exact numbers through fragments", function()
    local s = assert(core.json_encode { a = setmetatable({}, core.array_mt), n = 0.1 + 0.2, s = "x" .. ph })
    local v = core.json_decode(s)
    assert.equal(0, #v.a)
    assert.equal(core.array_mt, getmetatable(v.a))
    assert.equal(0.1 + 0.2, v.n)
    assert.equal("x" .. ph, v.s) -- not at the start: no placeholder
  end)

  -- decode skips its walk of the result when the text has no array, number or
  -- NUL outside its strings; what is inside strings must not fool that scan
  it("marks arrays and makes integers however the strings around them are escaped", function()
    local cases = {
      { '{"i":1}', function(v) return math.type == nil or math.type(v.i) == "integer" end },
      { '{"s":"[]","t":"1"}', function(v) return v.s == "[]" and v.t == "1" end },
      { '{"s":"a\\"[]"}', function(v) return v.s == 'a"[]' end },
      { '{"s":"x\\\\","b":[]}', function(v) return v.s == "x\\" and getmetatable(v.b) == core.array_mt end },
      { '{"s":"x\\\\","n":2}', function(v) return math.type == nil or math.type(v.n) == "integer" end },
      { '{"s":"\\"","b":[3]}', function(v) return getmetatable(v.b) == core.array_mt and v.b[1] == 3 end },
      { '{"s":"[1]"}', function(v) return getmetatable(v) == nil and v.s == "[1]" end },
    }
    for _, c in ipairs(cases) do
      local v = assert(core.json_decode(c[1]))
      assert.is_true(c[2](v), c[1])
    end
  end)
end)
