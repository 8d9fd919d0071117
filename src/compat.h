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

/* The sub-modules of exa.core: each adds its fields to the table on top. */
EXA_LOCAL void exa_open_json(lua_State *L);
EXA_LOCAL void exa_open_sse(lua_State *L);
EXA_LOCAL void exa_open_http(lua_State *L);

/* The userdata discipline in one place (core.c): register metatable name with
 * methods as __index, close as __gc (and __close on 5.4), tostring, __name. */
EXA_LOCAL void exa_new_type(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction close,
                            lua_CFunction tostring);

/* Event tables, built the same way by sse_parser:feed and transfer:next_event
 * (lsse.c): push the four keys "event", "data", "id", "retry" once, then push
 * each event as {event=, data=, id= [, retry=]} with keys = the absolute stack
 * index of the first key.  Reusing the key strings spares a lookup in Lua's
 * string table per field; feed pushes its keys once per chunk. */
struct exa_sse_event;
EXA_LOCAL void exa_push_event_keys(lua_State *L);
EXA_LOCAL void exa_push_event(lua_State *L, int keys, const struct exa_sse_event *ev);

#endif
