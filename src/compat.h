/*
 * compat.h - one source for Lua 5.1, LuaJIT 2.1, 5.2, 5.3 and 5.4.
 *
 * The code is written against the 5.3/5.4 API.  Where an older Lua lacks a
 * function, a project-prefixed shim stands in behind a macro, so it can never
 * collide with the 5.2 functions LuaJIT 2.1 already declares.
 */
#ifndef EXA_COMPAT_H
#define EXA_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if defined(__GNUC__)
#define EXA_EXPORT __attribute__((visibility("default")))
#define EXA_LOCAL __attribute__((visibility("hidden")))
#else
#define EXA_EXPORT
#define EXA_LOCAL
#endif

#if LUA_VERSION_NUM < 502
#define luaL_setfuncs exa_setfuncs
#define luaL_setmetatable exa_setmetatable
#define lua_rawlen(L, i) lua_objlen((L), (i))
EXA_LOCAL void exa_setfuncs(lua_State *L, const luaL_Reg *l, int nup);
EXA_LOCAL void exa_setmetatable(lua_State *L, const char *tname);
#endif

#if LUA_VERSION_NUM < 503
#define lua_isinteger(L, i) exa_isinteger((L), (i))
EXA_LOCAL int exa_isinteger(lua_State *L, int i);
#endif

#if LUA_VERSION_NUM < 504
#define lua_newuserdatauv(L, sz, nuv) lua_newuserdata((L), (sz))
#endif

/* Raw table access by integer key on every version. */
#if LUA_VERSION_NUM < 503
#define exa_rawgeti(L, t, n) (lua_rawgeti((L), (t), (int)(n)), lua_type((L), -1))
#else
#define exa_rawgeti(L, t, n) lua_rawgeti((L), (t), (n))
#endif

#endif
