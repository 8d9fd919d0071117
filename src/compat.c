/* compat.c - the shims promised by compat.h, compiled only where needed. */
#include "compat.h"

#include <math.h>

#if LUA_VERSION_NUM < 502
void exa_setfuncs(lua_State *L, const luaL_Reg *l, int nup) {
  luaL_checkstack(L, nup + 1, "too many upvalues");
  for (; l->name != NULL; l++) {
    int i;
    for (i = 0; i < nup; i++) lua_pushvalue(L, -nup);
    lua_pushcclosure(L, l->func, nup);
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
}

void exa_setmetatable(lua_State *L, const char *tname) {
  lua_getfield(L, LUA_REGISTRYINDEX, tname);
  lua_setmetatable(L, -2);
}
#endif

#if LUA_VERSION_NUM < 503
int exa_isinteger(lua_State *L, int i) {
  lua_Number n;
  if (lua_type(L, i) != LUA_TNUMBER) return 0;
  n = lua_tonumber(L, i);
  return n == floor(n) && n >= -9007199254740992.0 && n <= 9007199254740992.0;
}
#endif
