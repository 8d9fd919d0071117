/*
 * json_fuzz.c - libFuzzer target for json.c, the glue around lua-cjson (Lua
 * 5.4 is linked into this binary only; cjson is required as the module does).
 *
 * Each input is used twice:
 *   - as JSON text: core.json_decode, then json_encode of the result, then
 *     json_decode again must give the same value (array marks on arrays,
 *     empty arrays kept, numbers equal); encoding may fail only when the
 *     decoded value holds an infinity (1e400);
 *   - as a program that builds a Lua value (arrays marked with array_mt,
 *     empty arrays, objects, exact doubles and 64-bit integers from the raw
 *     bytes, strings, null, booleans): json_encode must fail for NaN and
 *     infinities only; each number's text must read back exactly (strtod /
 *     integer parse), and the decoded value must equal the one built.
 * A difference raises "MISMATCH" in the Lua checker below, which traps.
 *
 *   fuzz/run.sh [seconds per target]
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "bind.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char checker[] =
    "local dec, enc, amt, null = ...\n"
    "local mtype, huge, tointeger = math.type, math.huge, math.tointeger\n"
    "local function same(a, b)\n"
    "  if type(a) ~= type(b) then return false end\n"
    "  if type(a) == 'number' then return a == b end\n"
    "  if type(a) ~= 'table' then return a == b end\n"
    "  if getmetatable(a) ~= getmetatable(b) then return false end\n"
    "  for k, v in pairs(a) do if not same(v, b[k]) then return false end end\n"
    "  for k in pairs(b) do if rawget(a, k) == nil then return false end end\n"
    "  return true\n"
    "end\n"
    "local function has_inf(v, d)\n"
    "  if type(v) == 'number' then return v == huge or v == -huge or v ~= v end\n"
    "  if type(v) ~= 'table' then return false end\n"
    "  for _, x in pairs(v) do if has_inf(x) then return true end end\n"
    "  return false\n"
    "end\n"
    "local function roundtrip(s)\n"
    "  local okd, v = pcall(dec, s)\n"
    "  if not okd then error('MISMATCH: json_decode raised instead of returning nil, err: ' .. tostring(v)) end\n"
    "  if v == nil then return end\n"
    "  local ok, t, err = pcall(enc, v)\n"
    "  if not ok or t == nil then\n"
    "    if has_inf(v) then return end\n"
    "    error('MISMATCH: a decoded value does not encode: ' .. tostring(t or err))\n"
    "  end\n"
    "  local v2, err2 = dec(t)\n"
    "  if v2 == nil and err2 then error('MISMATCH: our own text does not decode: ' .. t) end\n"
    "  if not same(v, v2) then error('MISMATCH: decode/encode/decode changed the value: ' .. t) end\n"
    "end\n"
    /* exact numbers: the text of a number reads back to the same number */
    "local function exact(x)\n"
    "  local ok, t = pcall(enc, x)\n"
    "  if x ~= x or x == huge or x == -huge then\n"
    "    if ok and t ~= nil then error('MISMATCH: encoded a non-finite number: ' .. t) end\n"
    "    return\n"
    "  end\n"
    "  if not ok or t == nil then error('MISMATCH: a finite number does not encode: ' .. tostring(x)) end\n"
    "  if mtype(x) == 'integer' then\n"
    "    if t ~= string.format('%d', x) then error('MISMATCH: integer ' .. string.format('%d', x) .. ' as ' .. t) end\n"
    "  elseif tonumber(t) ~= x then error('MISMATCH: float ' .. string.format('%a', x) .. ' as ' .. t) end\n"
    "end\n"
    "local function build(s)\n"
    "  local pos, nums = 1, {}\n"
    "  local function byte() local b = s:byte(pos); pos = pos + 1; return b or 0 end\n"
    "  local function str(n) local r = s:sub(pos, pos + n - 1); pos = pos + n; return r end\n"
    "  local function value(d)\n"
    "    if pos > #s then return null end\n"
    "    local op = byte() % 10\n"
    "    if op == 0 and pos + 7 <= #s then local x; x, pos = string.unpack('<d', s, pos); nums[#nums + 1] = x; return x\n"
    "    elseif op == 1 and pos + 7 <= #s then local x; x, pos = string.unpack('<i8', s, pos); nums[#nums + 1] = x; return x\n"
    "    elseif op == 2 then return str(byte() % 24)\n"
    "    elseif op == 3 and d < 40 then\n"
    "      local t = setmetatable({}, amt)\n"
    "      for i = 1, byte() % 6 do t[i] = value(d + 1) end\n"
    "      return t\n"
    "    elseif op == 4 and d < 40 then\n"
    "      local t = {}\n"
    "      for _ = 1, byte() % 6 do local k = 'k' .. str(byte() % 6); t[k] = value(d + 1) end\n"
    "      return t\n"
    "    elseif op == 5 then return setmetatable({}, amt)\n"
    "    elseif op == 6 then return null\n"
    "    elseif op == 7 then return byte() % 2 == 0\n"
    "    else return byte() - 128 end\n"
    "  end\n"
    "  return value(0), nums\n"
    "end\n"
    "return function(s)\n"
    "  roundtrip(s)\n"
    "  local v, nums = build(s)\n"
    "  for _, x in ipairs(nums) do exact(x) end\n"
    "  local ok, t, err = pcall(enc, v)\n"
    "  if not ok or t == nil then\n"
    "    if has_inf(v) then return end\n"
    /* a string the fuzzer made to look like the placeholder (it learns the
     * nonce from our comparisons): refused, never spliced */
    "    if ok and tostring(err):match('internal placeholder') then return end\n"
    "    error('MISMATCH: a built value does not encode: ' .. tostring(t or err))\n"
    "  end\n"
    "  local v2 = dec(t)\n"
    "  if v2 == nil then error('MISMATCH: the text of a built value does not decode: ' .. t) end\n"
    "  local function near(a, b)\n"
    "    if type(a) == 'number' and type(b) == 'number' then\n"
    "      if a == b then return true end\n"
    "      return mtype(a) == 'integer' and (a > 2^53 or a < -2^53) and b == a + 0.0\n"
    "    end\n"
    "    if type(a) ~= 'table' or type(b) ~= 'table' then return same(a, b) end\n"
    "    if getmetatable(a) ~= getmetatable(b) then return false end\n"
    "    for k, x in pairs(a) do if not near(x, b[k]) then return false end end\n"
    "    for k in pairs(b) do if rawget(a, k) == nil then return false end end\n"
    "    return true\n"
    "  end\n"
    "  if not near(v, v2) then error('MISMATCH: a built value came back changed: ' .. t) end\n"
    "end\n";

static lua_State *L;
static int check_ref;
static unsigned long runs;

static void init(void) {
  L = luaL_newstate();
  luaL_openlibs(L);
  lua_newtable(L);
  exa_open_json(L); /* requires cjson, fills the module table */
  if (luaL_loadbuffer(L, checker, sizeof checker - 1, "=checker") != 0) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    __builtin_trap();
  }
  lua_getfield(L, -2, "json_decode");
  lua_getfield(L, -3, "json_encode");
  lua_getfield(L, -4, "array_mt");
  lua_getfield(L, -5, "null");
  if (lua_pcall(L, 4, 1, 0) != 0) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    __builtin_trap();
  }
  check_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (L == NULL) init();
  lua_rawgeti(L, LUA_REGISTRYINDEX, check_ref);
  lua_pushlstring(L, (const char *)data, size);
  if (lua_pcall(L, 1, 0, 0) != 0) {
    const char *msg = lua_tostring(L, -1);
    if (msg && strstr(msg, "MISMATCH")) {
      fprintf(stderr, "json_fuzz: %s\n", msg);
      __builtin_trap();
    }
    /* other Lua errors (out of memory in Lua itself) are not json.c's */
  }
  lua_settop(L, 0);
  if (++runs % 1024 == 0) lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
