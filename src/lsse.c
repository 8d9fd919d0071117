/*
 * lsse.c - Lua binding of the SSE framer (sse.c).
 *
 *   local p = core.sse_parser{max_line = n, max_event = n, comments = false}
 *   for _, ev in ipairs(p:feed(bytes)) do ... end
 *       ev = {event = "message"|name, data = s, id = last_event_id,
 *             has_id = the block had its own id field [, retry = ms]}
 *       with comments = true, comment lines come in order as {comment = text}
 *   p:finish()         end of stream: drop the unterminated block; the next
 *                      feed starts a new stream (BOM), last id and retry stay.
 *                      Returns true when something was dropped (the stream
 *                      ended inside a line or an event), else false
 *   p:last_event_id()  --> string, "" when none
 *   p:retry()          --> integer ms, or nil
 *   p:close()          frees it (also __gc and __close); idempotent
 *
 * A bound exceeded raises ("sse: line exceeds max_line (N bytes)"), and the
 * parser stays failed: every later feed raises too.  Events of that same
 * chunk dispatched before the error are lost with it.  The framer's callback
 * only builds tables; no Lua function ever runs inside it.
 */
#include "bind.h"

#include <stdio.h>
#include <string.h>

#define SSE_MT "exa.sse_parser"

typedef struct lsse {
  exa_sse p;
  int open;
  int busy; /* a feed is running, or one raised midway: the parser's state is unknown */
} lsse;

typedef struct feed_ctx {
  lua_State *L;
  int keys;   /* stack index of the event keys */
  int result; /* stack index of the result table */
  int n;      /* events (and comments) in it */
} feed_ctx;

static lsse *check(lua_State *L) {
  lsse *u = (lsse *)luaL_checkudata(L, 1, SSE_MT);
  if (!u->open) luaL_error(L, "sse: parser is closed");
  return u;
}

static int on_event(void *ud, const exa_sse_event *ev) {
  feed_ctx *c = (feed_ctx *)ud;
  exa_push_event(c->L, c->keys, ev);
  lua_rawseti(c->L, c->result, ++c->n);
  return 0;
}

static void on_comment(void *ud, const char *text, size_t len) {
  feed_ctx *c = (feed_ctx *)ud;
  lua_State *L = c->L;
  lua_createtable(L, 0, 1);
  lua_pushlstring(L, text, len);
  lua_setfield(L, -2, "comment");
  lua_rawseti(L, c->result, ++c->n);
}

static int sse_error(lua_State *L, const lsse *u, int rc, const char *prefix) {
  char msg[128];
  switch (rc) {
    case EXA_SSE_ELINE:
      snprintf(msg, sizeof msg, "line exceeds max_line (%lu bytes)", (unsigned long)u->p.max_line);
      break;
    case EXA_SSE_EEVENT:
      snprintf(msg, sizeof msg, "event data exceeds max_event (%lu bytes)", (unsigned long)u->p.max_event);
      break;
    default:
      snprintf(msg, sizeof msg, "%s", exa_sse_strerror(rc));
  }
  return luaL_error(L, "sse: %s%s", prefix, msg);
}

/* p:feed(bytes) -> array of events */
static int sse_feed(lua_State *L) {
  lsse *u = check(L);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  feed_ctx c;
  int rc;
  if (u->busy) return luaL_error(L, "sse: parser failed earlier: a feed was interrupted by an error");
  if (u->p.failed) return sse_error(L, u, u->p.failed, "parser failed earlier: ");
  lua_settop(L, 2);
  luaL_checkstack(L, EXA_EVENT_KEYS + 4, "sse");
  exa_push_event_keys(L); /* 3..7 */
  lua_newtable(L);        /* 8: the result */
  c.L = L;
  c.keys = 3;
  c.result = 3 + EXA_EVENT_KEYS;
  c.n = 0;
  u->busy = 1; /* stays set if a table allocation raises inside the framer */
  rc = exa_sse_feed(&u->p, s, n, on_event, &c);
  u->busy = 0;
  if (rc) return sse_error(L, u, rc, "");
  return 1;
}

/* p:finish() -> partial: end of stream */
static int sse_finish(lua_State *L) {
  lua_pushboolean(L, exa_sse_finish(&check(L)->p));
  return 1;
}

static int sse_last_event_id(lua_State *L) {
  size_t n;
  const char *s = exa_sse_last_id(&check(L)->p, &n);
  lua_pushlstring(L, s, n);
  return 1;
}

static int sse_retry(lua_State *L) {
  long r = exa_sse_retry(&check(L)->p);
  if (r < 0) lua_pushnil(L);
  else lua_pushinteger(L, (lua_Integer)r);
  return 1;
}

/* p:close(), __gc, __close: free it; safe to call any number of times */
static int sse_close(lua_State *L) {
  lsse *u = (lsse *)luaL_checkudata(L, 1, SSE_MT);
  if (u->open) {
    u->open = 0;
    exa_sse_free(&u->p);
  }
  return 0;
}

static int sse_tostring(lua_State *L) {
  lsse *u = (lsse *)luaL_checkudata(L, 1, SSE_MT);
  if (u->open) lua_pushfstring(L, SSE_MT " (%p)", (void *)u);
  else lua_pushliteral(L, SSE_MT " (closed)");
  return 1;
}

/* core.sse_parser([{max_line=, max_event=, comments=}]) -> parser */
static int sse_new(lua_State *L) {
  size_t max_line = 0, max_event = 0;
  int comments = 0;
  lsse *u;
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
      const char *k;
      lua_pop(L, 1);
      if (lua_type(L, -1) != LUA_TSTRING)
        return luaL_argerror(L, 1, lua_pushfstring(L, "option names are strings, got %s", luaL_typename(L, -1)));
      k = lua_tostring(L, -1);
      if (strcmp(k, "max_line") && strcmp(k, "max_event") && strcmp(k, "comments"))
        return luaL_argerror(L, 1, lua_pushfstring(L, "unknown option '%s'", k));
    }
    max_line = exa_opt_size(L, 1, "max_line");
    max_event = exa_opt_size(L, 1, "max_event");
    lua_getfield(L, 1, "comments");
    comments = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  u = (lsse *)lua_newuserdatauv(L, sizeof *u, 0);
  exa_sse_init(&u->p, max_line, max_event);
  if (comments) u->p.on_comment = on_comment;
  u->open = 1;
  u->busy = 0;
  luaL_setmetatable(L, SSE_MT);
  return 1;
}

void exa_open_sse(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"feed", sse_feed},
    {"finish", sse_finish},
    {"last_event_id", sse_last_event_id},
    {"retry", sse_retry},
    {"close", sse_close},
    {NULL, NULL}
  };
  exa_new_type(L, SSE_MT, methods, sse_close, sse_tostring);
  lua_pushcfunction(L, sse_new);
  lua_setfield(L, -2, "sse_parser");
}
