-- exa_mock.json: the simulator's own JSON on plain lua-cjson, so the
-- simulator rock needs neither exa.core nor the client. Pure Lua: runs under
-- every Lua of the suite.
local json = require "exa_mock.json"
local cjson = require "cjson"

describe("exa_mock.json", function()
  it("keeps array-ness through decode, empty arrays included", function()
    local v = assert(json.decode('{"a":[],"b":{},"c":[ ],"d":[[],[1]],"e":[{}]}'))
    assert.is_true(json.is_array(v.a))
    assert.is_false(json.is_array(v.b))
    assert.is_true(json.is_array(v.c))
    assert.is_true(json.is_array(v.d) and json.is_array(v.d[1]) and json.is_array(v.d[2]))
    assert.is_false(json.is_array(v.e[1]))
    assert.equal(0, #v.a)
    assert.is_nil(next(v.a))
    assert.is_nil(next(v.d[1]))
    assert.is_false(json.is_array(v))
    assert.is_true(json.is_array(json.decode("[]")))
  end)

  it("leaves [] inside strings alone, escaped quotes and backslashes included", function()
    local v = assert(json.decode('{"s":"[]","t":"a\\"[]\\\\","u":[],"w":"\\\\"}'))
    assert.equal("[]", v.s)
    assert.equal('a"[]\\', v.t)
    assert.equal("\\", v.w)
    assert.is_true(json.is_array(v.u))
  end)

  it("encodes marked empty tables as [] and plain empty tables as {}, and restores them", function()
    local a, o = json.array(), {}
    local v = { a = a, o = o, n = { json.array(), json.array { 1 } } }
    local s = assert(json.encode(v))
    local back = cjson.decode(s)
    assert.is_nil(s:find("exa_mock", 1, true))
    assert.matches('"a":%[%]', s)
    assert.matches('"o":{}', s)
    assert.matches('%[%[%],%[1%]%]', s)
    assert.is_table(back.n)
    assert.is_nil(next(a)) -- the placeholder is gone again
    assert.equal("[]", json.encode(json.array()))
    assert.equal("{}", json.encode({}))
  end)

  it("round-trips what it decodes", function()
    local text = '{"data":[],"hasMore":false,"nextCursor":null,"x":[{"k":[]}]}'
    local v = assert(json.decode(text))
    assert.equal(json.null, v.nextCursor)
    local out = json.encode(v)
    assert.same(cjson.decode(text), cjson.decode(out))
    assert.matches('"data":%[%]', json.encode(v))
    assert.matches('"k":%[%]', json.encode(v))
  end)

  it("uses cjson's null", function()
    assert.equal(cjson.null, json.null)
    assert.equal("null", json.encode(json.null))
  end)

  it("decodes integral numbers as integers on 5.3+", function()
    local v = assert(json.decode('{"i":3,"f":2.5,"e":1e2,"a":[7]}'))
    if math.type then
      assert.equal("integer", math.type(v.i))
      assert.equal("integer", math.type(v.e))
      assert.equal("integer", math.type(v.a[1]))
      assert.equal("float", math.type(v.f))
      assert.equal("integer", math.type(json.decode("12")))
    end
    assert.equal(3, v.i)
    assert.equal(2.5, v.f)
  end)

  it("writes '/' unescaped, as the service does", function()
    assert.equal('{"u":"https://x.test/a"}', json.encode({ u = "https://x.test/a" }))
    assert.equal('"\\\\/"', json.encode("\\/")) -- a backslash, then a slash
    assert.equal("\\/", json.decode(json.encode("\\/")))
  end)

  it("returns nil and a message on bad input instead of raising", function()
    local v, err = json.decode("{bad")
    assert.is_nil(v)
    assert.is_string(err)
    v, err = json.decode('{"a":[] ')
    assert.is_nil(v)
    assert.is_nil(tostring(err):find("exa_mock", 1, true)) -- about the caller's text, not ours
    v, err = json.encode({ f = function() end })
    assert.is_nil(v)
    assert.is_string(err)
    local cyc = {}
    cyc.self = cyc
    v, err = json.encode(cyc)
    assert.is_nil(v)
    assert.is_string(err)
  end)
end)

describe("the simulator's modules", function()
  it("load without the client: no exa.* module, no exa.core", function()
    local root = require("helpers.mock").root
    local cmd = ("cd %s && LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH=';;' lua5.4 -e "
      .. "'require \"exa_mock\"; for k in pairs(package.loaded) do "
      .. "if k == \"exa\" or k:find(\"^exa%%.\") then print(\"loaded \" .. k) end end; print(\"ok\")' 2>&1")
      :format(require("helpers.mock").quote(root))
    local p = assert(io.popen(cmd))
    local out = p:read("*a")
    p:close()
    assert.equal("ok\n", out)
  end)
end)
