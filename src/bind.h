/*
 * bind.h - what the Lua bindings (core.c, lsse.c, lhttp.c, json.c) share:
 * the sub-module openers, one metatable builder, the event table and the
 * error value.  Version shims live in compat.h; nothing here knows curl.
 */
#ifndef EXA_BIND_H
#define EXA_BIND_H

#include "compat.h"
#include "sse.h"

/* The sub-modules of exa.core: each adds its fields to the table on top. */
void exa_open_json(lua_State *L);
void exa_open_sse(lua_State *L);
void exa_open_http(lua_State *L);
void exa_open_h1(lua_State *L);
void exa_open_signals(lua_State *L);

/* The userdata discipline in one place: register metatable name with
 * methods as __index, close as __gc (and __close on 5.4), tostring, __name. */
void exa_new_type(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction close,
                  lua_CFunction tostring);

/* Event tables, built the same way by sse_parser:feed and transfer:next_event:
 * push the five keys "event", "data", "id", "retry", "has_id" once, then push
 * each event as {event=, data=, id=, has_id= [, retry=]} with keys = the
 * absolute stack index of the first key.  Reusing the key strings spares a
 * lookup in Lua's string table per field. */
#define EXA_EVENT_KEYS 5
void exa_push_event_keys(lua_State *L);
void exa_push_event(lua_State *L, int keys, const exa_sse_event *ev);

/* Push a response's headers ("name\0value\0" pairs, as resp.c keeps them)
 * as a table: names as given, a repeated name's values joined by ", ". */
void exa_push_headers(lua_State *L, const char *p, size_t len);

/* The same event in a stream's final shape (transfer spec.json): data decoded
 * by core.json_decode straight after the framer (kept as text when it is not
 * JSON), no retry field (the framer's own business), and has_id only where it
 * differs from id ~= "" (an event without an id of its own that inherits one,
 * or an empty "id:" line): the common event is {event=, data=, id=}, built
 * once, never edited by the stream.  The decoder is looked up in the
 * registry, where exa_open_json leaves it. */
void exa_push_event_json(lua_State *L, int keys, const exa_sse_event *ev);
void exa_register_json_decode(lua_State *L, int idx); /* idx: absolute */

/* A size option name of the options table at index t (core.response,
 * core.sse_parser): absent or nil: 0; else an integer 1..2^53 (exact as a
 * Lua 5.1 number), or an argument error "option 'name' must be a positive integer". */
#define EXA_OPT_SIZE_MAX 9007199254740992.0 /* 2^53 */
size_t exa_opt_size(lua_State *L, int t, const char *name);

/* Push nil, {kind=, code= (when >= 0), message=}; returns 2. */
int exa_push_error(lua_State *L, const char *kind, long code, const char *msg);

#endif
