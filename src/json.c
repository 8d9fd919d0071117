/*
 * json.c - JSON through lua-cjson, with the three things plain cjson 2.1.0
 * (Debian's) cannot do:
 *
 *   - decoded arrays keep their array-ness: every JSON array becomes a table
 *     with core.array_mt, including empty ones ([] and {} both decode to an
 *     empty table in cjson, so empty arrays are marked in the text first);
 *   - tables with core.array_mt encode as arrays even when empty ([]);
 *   - on Lua 5.3+, integral numbers decode as integers (cjson gives floats).
 *
 * We use our own cjson.new() instance, so nobody else's cjson settings can
 * change ours.  JSON null is cjson.null, exported as core.null.
 *
 * Marking uses a placeholder string that contains a NUL byte and a per-process
 * random nonce; no JSON a server or user sends can contain it by accident.
 */
#include "bind.h"

#include <stdio.h>
#include <string.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

#define JSON_MAX_DEPTH 1000

/* upvalue indexes of json_decode / json_encode */
#define UV_DECODE 1
#define UV_ENCODE 2
#define UV_ARRAY_MT 3
#define UV_PLACEHOLDER 4 /* raw placeholder prefix: "\0exa:<hex>:" */
#define UV_PH_JSON 5     /* the empty-array placeholder as cjson encodes it, quoted;
                          * its prefix (all but the last quote) starts every fragment */

/* Does the string at idx start with the raw placeholder prefix?  Only a
 * caller who read the per-process nonce out of memory can make one (a fuzzer
 * does, by watching our comparisons); its text would be taken for a fragment. */
static int is_placeholder_like(lua_State *L, int idx) {
  size_t n, phn;
  const char *s, *ph;
  if (lua_type(L, idx) != LUA_TSTRING) return 0;
  s = lua_tolstring(L, idx, &n);
  ph = lua_tolstring(L, lua_upvalueindex(UV_PLACEHOLDER), &phn);
  return n >= phn && memcmp(s, ph, phn) == 0;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Is there a "[", blanks, "]" anywhere in s, inside a string or not?  Without
 * one there is no empty array to mark. */
static int has_empty_brackets(const char *s, size_t n) {
  const char *p = s, *end = s + n;
  while ((p = memchr(p, '[', (size_t)(end - p))) != NULL) {
    p++;
    while (p < end && is_ws(*p)) p++;
    if (p < end && *p == ']') return 1;
  }
  return 0;
}

/* What s holds outside its strings: a '[' (an array), a digit (a number).
 * Strings are skipped with memchr, the bytes between them looked at one by
 * one.  An unterminated string counts as both (cjson will refuse it). */
#define OUT_ARRAY 1
#define OUT_NUMBER 2
static int outside_strings(const char *s, size_t n) {
  const char *p = s, *end = s + n;
  int found = 0;
  while (p < end) {
    char c = *p++;
    if (c == '"') {
      for (;;) { /* to the closing quote: one not escaped by an odd run of backslashes */
        const char *q = memchr(p, '"', (size_t)(end - p)), *b;
        if (q == NULL) return OUT_ARRAY | OUT_NUMBER;
        for (b = q; b > p && b[-1] == '\\'; b--) {}
        p = q + 1;
        if ((q - b) % 2 == 0) break;
      }
    } else if (c == '[') {
      found |= OUT_ARRAY;
    } else if (c >= '0' && c <= '9') {
      found |= OUT_NUMBER;
    }
  }
  return found;
}

/* Push a copy of s where each empty array "[ ]" outside strings holds the
 * placeholder as its only element.  Returns how many it marked (0: nothing
 * pushed). */
static long mark_empty_arrays(lua_State *L, const char *s, size_t n, const char *ph, size_t phn) {
  size_t i, from = 0;
  int in_str = 0;
  long found = 0;
  luaL_Buffer b;
  if (!has_empty_brackets(s, n)) return 0; /* most documents: one memchr pass, no state machine */
  for (i = 0; i < n; i++) {
    char c = s[i];
    if (in_str) {
      if (c == '\\') i++;
      else if (c == '"') in_str = 0;
    } else if (c == '"') {
      in_str = 1;
    } else if (c == '[') {
      size_t j = i + 1;
      while (j < n && is_ws(s[j])) j++;
      if (j < n && s[j] == ']') {
        if (!found) luaL_buffinit(L, &b);
        found++;
        luaL_addlstring(&b, s + from, i + 1 - from);
        luaL_addlstring(&b, ph, phn);
        from = j;
        i = j;
      }
    }
  }
  if (!found) return 0;
  luaL_addlstring(&b, s + from, n - from);
  luaL_pushresult(&b);
  return found;
}

/* What fix_decoded met: arrays it emptied, and strings starting with the
 * placeholder anywhere else.  Each marked "[ ]" is emptied once; any more, or
 * such a string elsewhere, means the document itself held the placeholder (its
 * nonce is secret: not by accident): refused, as json_encode refuses to write
 * one, so each side reads what the other writes. */
typedef struct fix_count {
  long emptied;
  int stray;
  const char *ph; /* the raw placeholder prefix, read once per decode */
  size_t phn;
  int may_hold_nul; /* 0: no decoded string can start with the prefix's NUL */
} fix_count;

/* Can a string decoded from s hold a NUL byte?  Only through a raw NUL or
 * the escape \u0000 (the one way JSON writes U+0000).  The usual document has
 * neither, and then no key or value needs the placeholder check. */
static int may_hold_nul(const char *s, size_t n) {
  const char *p = s, *end = s + n;
  if (memchr(s, '\0', n) != NULL) return 1;
  while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
    if (end - p >= 6 && memcmp(p, "\\u0000", 6) == 0) return 1;
    if (end - p <= 2) break; /* no pointer past the end: a last backslash is the document's error */
    p += 2; /* the escaped character is never the start of another escape */
  }
  return 0;
}

/* is_placeholder_like() with the prefix at hand: every key and value of a
 * decoded document passes here. */
static int starts_with_ph(lua_State *L, int idx, const fix_count *fc) {
  size_t n;
  const char *s;
  if (lua_type(L, idx) != LUA_TSTRING) return 0;
  s = lua_tolstring(L, idx, &n);
  return n >= fc->phn && s[0] == fc->ph[0] && memcmp(s, fc->ph, fc->phn) == 0;
}

/* Walk the decoded value at the top of the stack: mark arrays, turn
 * placeholder arrays into empty arrays, integral floats into integers. */
static void fix_decoded(lua_State *L, int depth, fix_count *fc) {
  int t = lua_gettop(L);
  if (lua_type(L, t) != LUA_TTABLE) return;
  luaL_checkstack(L, 4, "json nesting");
  if (depth > JSON_MAX_DEPTH) luaL_error(L, "json: nesting deeper than %d", JSON_MAX_DEPTH);
  if (exa_rawgeti(L, t, 1) != LUA_TNIL) { /* cjson arrays have no holes: t[1] set => array */
    int empty = lua_type(L, -1) == LUA_TSTRING && lua_rawequal(L, -1, lua_upvalueindex(UV_PLACEHOLDER));
    lua_pop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(UV_ARRAY_MT));
    lua_setmetatable(L, t);
    if (empty && lua_rawlen(L, t) == 1) {
      lua_pushnil(L);
      lua_rawseti(L, t, 1);
      fc->emptied++;
      return;
    }
  } else {
    lua_pop(L, 1);
  }
  lua_pushnil(L);
  while (lua_next(L, t)) {
    int vt = lua_type(L, -1);
    if (fc->may_hold_nul && ((vt == LUA_TSTRING && starts_with_ph(L, -1, fc)) || starts_with_ph(L, -2, fc)))
      fc->stray = 1;
    if (vt == LUA_TTABLE) {
      fix_decoded(L, depth + 1, fc);
    }
#if LUA_VERSION_NUM >= 503
    else if (vt == LUA_TNUMBER && !lua_isinteger(L, -1)) {
      lua_Number x = lua_tonumber(L, -1);
      if (x >= -9007199254740992.0 && x <= 9007199254740992.0 && x == (lua_Number)(lua_Integer)x) {
        lua_pushvalue(L, -2);
        lua_pushinteger(L, (lua_Integer)x);
        lua_rawset(L, t); /* assigning an existing field during traversal is allowed */
      }
    }
#endif
    lua_pop(L, 1);
  }
}

/* core.json_decode(s) -> value | nil, message */
static int json_decode(lua_State *L) {
  size_t n, phn;
  const char *s = luaL_checklstring(L, 1, &n);
  const char *ph = lua_tolstring(L, lua_upvalueindex(UV_PH_JSON), &phn);
  long marked;
  fix_count fc = {0, 0, NULL, 0, 1};
  fc.ph = lua_tolstring(L, lua_upvalueindex(UV_PLACEHOLDER), &fc.phn);
  int out = outside_strings(s, n), walk;
  fc.may_hold_nul = may_hold_nul(s, n);
  lua_settop(L, 1);
  marked = (out & OUT_ARRAY) ? mark_empty_arrays(L, s, n, ph, phn) : 0;
  /* the walk below marks arrays, makes integral numbers integers (5.3+) and
   * looks for the placeholder: a document with none of these skips it */
#if LUA_VERSION_NUM >= 503
  walk = out != 0 || fc.may_hold_nul;
#else
  walk = (out & OUT_ARRAY) || fc.may_hold_nul;
#endif
  lua_pushvalue(L, lua_upvalueindex(UV_DECODE));
  lua_pushvalue(L, marked ? 2 : 1);
  if (lua_pcall(L, 1, 1, 0) != 0) {
    if (marked) { /* report the position in the text the caller gave */
      lua_settop(L, 1);
      lua_pushvalue(L, lua_upvalueindex(UV_DECODE));
      lua_pushvalue(L, 1);
      if (lua_pcall(L, 1, 1, 0) == 0) lua_pushliteral(L, "json: invalid document");
    }
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  if (walk) fix_decoded(L, 0, &fc);
  if (fc.stray || fc.emptied != marked || is_placeholder_like(L, -1)) {
    lua_pushnil(L);
    lua_pushliteral(L, "json: the document holds exa.core's internal placeholder");
    return 2;
  }
  return 1;
}

/* cjson writes numbers with at most 14 significant digits.  A number that
 * does not survive that (a large integer, most computed doubles) is written
 * by us instead, exactly. */
static int number_is_exact14(lua_State *L, int idx) {
  char buf[64];
#if LUA_VERSION_NUM >= 503
  if (lua_isinteger(L, idx)) {
    lua_Integer i = lua_tointeger(L, idx);
    return i > -100000000000000LL && i < 100000000000000LL;
  }
#endif
  {
    lua_Number x = lua_tonumber(L, idx);
    if (x != x || x == (lua_Number)HUGE_VAL || x == -(lua_Number)HUGE_VAL) return 1; /* cjson reports these */
    snprintf(buf, sizeof buf, "%.14g", (double)x);
    return strtod(buf, NULL) == (double)x;
  }
}

/* Push the exact JSON text of the number at idx. */
static void push_exact_number(lua_State *L, int idx) {
  char buf[64];
#if LUA_VERSION_NUM >= 503
  if (lua_isinteger(L, idx)) {
    lua_pushfstring(L, "%I", (lua_Integer)lua_tointeger(L, idx));
    return;
  }
#endif
  {
    lua_Number x = lua_tonumber(L, idx);
    int prec;
    for (prec = 15; prec < 17; prec++) { /* the shortest text that reads back the same */
      snprintf(buf, sizeof buf, "%.*g", prec, (double)x);
      if (strtod(buf, NULL) == (double)x) break;
    }
    if (prec == 17) snprintf(buf, sizeof buf, "%.17g", (double)x);
    lua_pushstring(L, buf);
  }
}

static int is_empty_array(lua_State *L, int t) {
  int is_array;
  if (!lua_getmetatable(L, t)) return 0;
  is_array = lua_rawequal(L, -1, lua_upvalueindex(UV_ARRAY_MT));
  lua_pop(L, 1);
  if (!is_array) return 0;
  lua_pushnil(L);
  if (!lua_next(L, t)) return 1;
  lua_pop(L, 2);
  return 0;
}

/* Does the value on top need a raw fragment anywhere (an empty array, a
 * number cjson would round)?  Also rejects cycles and absurd depth, and sets
 * *clash for a string that looks like a placeholder (until the first
 * fragment is found: copy_for_encode checks the rest). */
static int needs_fragments(lua_State *L, int depth, int *clash) {
  int t = lua_gettop(L), found = 0;
  if (lua_type(L, t) == LUA_TNUMBER) return !number_is_exact14(L, t);
  if (is_placeholder_like(L, t)) *clash = 1;
  if (lua_type(L, t) != LUA_TTABLE) return 0;
  if (depth > JSON_MAX_DEPTH) luaL_error(L, "json: cannot encode: nesting deeper than %d (a cycle?)", JSON_MAX_DEPTH);
  luaL_checkstack(L, 4, "json nesting");
  if (is_empty_array(L, t)) return 1;
  lua_pushnil(L);
  while (!found && lua_next(L, t)) {
    if (is_placeholder_like(L, -2)) *clash = 1;
    found = needs_fragments(L, depth + 1, clash);
    lua_settop(L, t + 1);
  }
  lua_settop(L, t);
  return found;
}

/* Push a copy of the value on top where every value cjson cannot write
 * exactly is a placeholder string "<prefix><k>" and frags[k] its JSON text.
 * The caller's tables are never modified.  *clash is set when a string of
 * the value looks like a placeholder (see is_placeholder_like). */
static void copy_for_encode(lua_State *L, int frags, int depth, int *clash) {
  int src = lua_gettop(L), dst;
  int is_num = lua_type(L, src) == LUA_TNUMBER;
  luaL_checkstack(L, 6, "json nesting");
  if (is_placeholder_like(L, src)) *clash = 1;
  if ((is_num && !number_is_exact14(L, src)) || (lua_type(L, src) == LUA_TTABLE && is_empty_array(L, src))) {
    int k = (int)lua_rawlen(L, frags) + 1;
    if (is_num) push_exact_number(L, src);
    else lua_pushliteral(L, "[]");
    lua_rawseti(L, frags, k);
    lua_pushvalue(L, lua_upvalueindex(UV_PLACEHOLDER));
    lua_pushfstring(L, "%d", k);
    lua_concat(L, 2);
    return;
  }
  if (lua_type(L, src) != LUA_TTABLE) {
    lua_pushvalue(L, src);
    return;
  }
  lua_newtable(L);
  dst = src + 1;
  lua_pushnil(L);
  while (lua_next(L, src)) {
    if (is_placeholder_like(L, -2)) *clash = 1;
    copy_for_encode(L, frags, depth + 1, clash); /* pushes the copied value */
    lua_remove(L, -2);                    /* drop the original value */
    lua_pushvalue(L, -2);                 /* key */
    lua_insert(L, -2);
    lua_rawset(L, dst);
  }
}

/* Replace each quoted placeholder "<prefix><k>" in the string on top with frags[k]. */
static void splice_fragments(lua_State *L, int frags) {
  size_t n, phn, i, from = 0;
  const char *s = lua_tolstring(L, -1, &n);
  const char *ph = lua_tolstring(L, lua_upvalueindex(UV_PH_JSON), &phn);
  luaL_Buffer b;
  phn--; /* the prefix without its closing quote */
  luaL_buffinit(L, &b);
  for (i = 0; i + phn < n;) {
    if (s[i] == '"' && memcmp(s + i, ph, phn) == 0) {
      size_t j = i + phn, k = 0, nfrags = (size_t)lua_rawlen(L, frags);
      while (j < n && j - (i + phn) < 9 && s[j] >= '0' && s[j] <= '9') k = k * 10 + (size_t)(s[j++] - '0');
      if (j < n && s[j] == '"' && j > i + phn && k >= 1 && k <= nfrags) { /* exactly "<prefix><k>" */
        luaL_addlstring(&b, s + from, i - from);
        exa_rawgeti(L, frags, k);
        luaL_addvalue(&b);
        i = from = j + 1; /* past the closing quote */
        continue;
      }
    }
    i++;
  }
  luaL_addlstring(&b, s + from, n - from);
  luaL_pushresult(&b);
}

/* cjson escapes every '/' as "\/".  Valid, but not what servers or people
 * write.  In cjson's output a '/' is always escaped, so every "\/" pair is that
 * escape (an escaped backslash before it reads "\\\/") and can drop its '\'. */
static void unescape_slashes(lua_State *L) {
  size_t n, i, from = 0;
  const char *s = lua_tolstring(L, -1, &n);
  const char *p = memchr(s, '/', n);
  luaL_Buffer b;
  if (p == NULL) return;
  luaL_buffinit(L, &b);
  for (i = (size_t)(p - s); i < n; i++) {
    if (s[i] == '/' && i > 0 && s[i - 1] == '\\') {
      luaL_addlstring(&b, s + from, i - 1 - from);
      from = i;
    }
  }
  luaL_addlstring(&b, s + from, n - from);
  luaL_pushresult(&b);
  lua_remove(L, -2);
}

/* core.json_encode(value) -> string | nil, message */
static int json_encode(lua_State *L) {
  int ok;
  int clash = 0;
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  if (!needs_fragments(L, 0, &clash)) {
    if (clash) goto clashed;
    lua_pushvalue(L, lua_upvalueindex(UV_ENCODE));
    lua_pushvalue(L, 1);
    ok = lua_pcall(L, 1, 1, 0) == 0;
  } else {
    lua_newtable(L); /* 2: fragments */
    lua_pushvalue(L, lua_upvalueindex(UV_ENCODE));
    lua_pushvalue(L, 1);
    copy_for_encode(L, 2, 0, &clash);
    lua_remove(L, -2);
    if (clash) goto clashed;
    ok = lua_pcall(L, 1, 1, 0) == 0;
    if (ok) splice_fragments(L, 2);
  }
  if (!ok) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  unescape_slashes(L);
  return 1;
clashed:
  lua_pushnil(L);
  lua_pushliteral(L, "json: cannot encode a string that starts with exa.core's internal placeholder");
  return 2;
}

/* Call inst[name](arg) for configuration; arg is an integer or a boolean. */
static void configure(lua_State *L, int inst, const char *name, int is_bool, int arg) {
  lua_getfield(L, inst, name);
  if (is_bool) lua_pushboolean(L, arg);
  else lua_pushinteger(L, arg);
  lua_call(L, 1, 0);
}

static unsigned long long nonce(const void *salt) {
  unsigned long long x = 0;
  FILE *f = fopen("/dev/urandom", "rb");
  if (f != NULL) {
    if (fread(&x, sizeof x, 1, f) != 1) x = 0;
    fclose(f);
  }
  x ^= (unsigned long long)time(NULL) * 0x9E3779B97F4A7C15ull;
  x ^= (unsigned long long)(size_t)salt;
  return x;
}

void exa_open_json(lua_State *L) {
  int mod = lua_gettop(L), inst;
  char ph[64], phjson[80];
  unsigned long long x = nonce(&ph);

  lua_getglobal(L, "require");
  lua_pushliteral(L, "cjson");
  if (lua_pcall(L, 1, 1, 0) != 0) /* cjson module */
    luaL_error(L, "exa.core needs lua-cjson (Debian: apt-get install lua-cjson; "
                  "LuaRocks: luarocks install lua-cjson): %s", lua_tostring(L, -1));
  lua_getfield(L, -1, "null");
  lua_setfield(L, mod, "null");
  lua_getfield(L, -1, "new");
  lua_call(L, 0, 1); /* our own instance */
  inst = lua_gettop(L);
  configure(L, inst, "encode_number_precision", 0, 14); /* cjson's most; finer numbers go through fragments */
  configure(L, inst, "encode_invalid_numbers", 1, 0);   /* NaN and inf are errors, not JSON */
  configure(L, inst, "decode_invalid_numbers", 1, 0);   /* strict JSON numbers */
  configure(L, inst, "encode_keep_buffer", 1, 1);
  configure(L, inst, "decode_max_depth", 0, JSON_MAX_DEPTH);
  configure(L, inst, "encode_max_depth", 0, JSON_MAX_DEPTH);

  /* core.array_mt: marks a table as a JSON array */
  lua_newtable(L);
  lua_pushliteral(L, "exa.array");
  lua_setfield(L, -2, "__name");
  lua_pushvalue(L, -1);
  lua_setfield(L, mod, "array_mt");
  int amt = lua_gettop(L);

  snprintf(ph, sizeof ph, "%cexa:%016llx:", 0, x);
  snprintf(phjson, sizeof phjson, "\"\\u0000exa:%016llx:\"", x);

  lua_getfield(L, inst, "decode");
  lua_getfield(L, inst, "encode");
  lua_pushvalue(L, amt);
  lua_pushlstring(L, ph, 1 + strlen(ph + 1));
  lua_pushstring(L, phjson);
  lua_pushvalue(L, -5);
  lua_pushvalue(L, -5);
  lua_pushvalue(L, -5);
  lua_pushvalue(L, -5);
  lua_pushvalue(L, -5);
  lua_pushcclosure(L, json_encode, 5);
  lua_setfield(L, mod, "json_encode");
  lua_pushcclosure(L, json_decode, 5);
  exa_register_json_decode(L, lua_gettop(L)); /* for transfers that decode their events */
  lua_setfield(L, mod, "json_decode");
  lua_settop(L, mod);
}
