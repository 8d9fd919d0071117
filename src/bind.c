/* bind.c - see bind.h. */
#include "bind.h"

#include <string.h>

void exa_new_type(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction close,
                  lua_CFunction tostring) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, close);
  lua_setfield(L, -2, "__gc");
#if LUA_VERSION_NUM >= 504
  lua_pushcfunction(L, close);
  lua_setfield(L, -2, "__close");
#endif
  lua_pushcfunction(L, tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushstring(L, name); /* 5.1/5.2's luaL_newmetatable does not set it */
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}

void exa_push_event_keys(lua_State *L) {
  lua_pushliteral(L, "event");
  lua_pushliteral(L, "data");
  lua_pushliteral(L, "id");
  lua_pushliteral(L, "retry");
  lua_pushliteral(L, "has_id");
}

void exa_push_event(lua_State *L, int keys, const exa_sse_event *ev) {
  lua_createtable(L, 0, 5);
  lua_pushvalue(L, keys);
  lua_pushlstring(L, ev->type, ev->type_len);
  lua_rawset(L, -3);
  lua_pushvalue(L, keys + 1);
  lua_pushlstring(L, ev->data, ev->data_len);
  lua_rawset(L, -3);
  lua_pushvalue(L, keys + 2);
  lua_pushlstring(L, ev->id, ev->id_len);
  lua_rawset(L, -3);
  if (ev->retry >= 0) {
    lua_pushvalue(L, keys + 3);
    lua_pushinteger(L, (lua_Integer)ev->retry);
    lua_rawset(L, -3);
  }
  lua_pushvalue(L, keys + 4);
  lua_pushboolean(L, ev->has_id);
  lua_rawset(L, -3);
}

static const char json_decode_tag = 0; /* its address: the registry key of core.json_decode */

void exa_register_json_decode(lua_State *L, int idx) { /* idx > 0 */
  lua_pushlightuserdata(L, (void *)&json_decode_tag);
  lua_pushvalue(L, idx);
  lua_rawset(L, LUA_REGISTRYINDEX);
}

void exa_push_event_json(lua_State *L, int keys, const exa_sse_event *ev) {
  lua_createtable(L, 0, 3);
  lua_pushvalue(L, keys);
  lua_pushlstring(L, ev->type, ev->type_len);
  lua_rawset(L, -3);
  lua_pushvalue(L, keys + 1);
  lua_pushlightuserdata(L, (void *)&json_decode_tag);
  lua_rawget(L, LUA_REGISTRYINDEX);
  lua_pushlstring(L, ev->data, ev->data_len);
  lua_pushvalue(L, -1);
  lua_insert(L, -3); /* text, decode, text */
  lua_call(L, 1, 1); /* core.json_decode: nil (and no raise) when it is not JSON */
  if (lua_isnil(L, -1)) lua_pop(L, 1);
  else lua_remove(L, -2);
  lua_rawset(L, -3);
  lua_pushvalue(L, keys + 2);
  lua_pushlstring(L, ev->id, ev->id_len);
  lua_rawset(L, -3);
  if ((ev->has_id != 0) != (ev->id_len > 0)) {
    lua_pushvalue(L, keys + 4);
    lua_pushboolean(L, ev->has_id);
    lua_rawset(L, -3);
  }
}

int exa_push_error(lua_State *L, const char *kind, long code, const char *msg) {
  lua_pushnil(L);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  if (code >= 0) {
    lua_pushinteger(L, (lua_Integer)code);
    lua_setfield(L, -2, "code");
  }
  lua_pushstring(L, msg);
  lua_setfield(L, -2, "message");
  return 2;
}

void exa_push_headers(lua_State *L, const char *p, size_t len) {
  const char *end = p;
  lua_newtable(L);
  if (p != NULL) end += len;
  while (p < end) {
    const char *n = p, *v = n + strlen(n) + 1;
    p = v + strlen(v) + 1;
    lua_getfield(L, -1, n);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_pushstring(L, v);
    } else { /* a repeated name: join the values */
      lua_pushliteral(L, ", ");
      lua_pushstring(L, v);
      lua_concat(L, 3);
    }
    lua_setfield(L, -2, n);
  }
}

size_t exa_opt_size(lua_State *L, int t, const char *name) {
  size_t v = 0;
  lua_getfield(L, t, name);
  if (!lua_isnil(L, -1)) {
    lua_Number x = lua_tonumber(L, -1); /* 2^20 is a float on 5.3+: integral values are fine */
    if (lua_type(L, -1) != LUA_TNUMBER || !(x >= 1 && x <= EXA_OPT_SIZE_MAX) || x != (lua_Number)(size_t)x)
      luaL_argerror(L, t, lua_pushfstring(L, "option '%s' must be a positive integer", name));
    v = (size_t)x;
  }
  lua_pop(L, 1);
  return v;
}
