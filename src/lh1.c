/*
 * lh1.c - the Lua binding of the HTTP/1 response reader (h1.c): a response
 * read from bytes a Lua transport got off a socket (the ngx backend).
 *
 *   r = core.response{ method = "GET", sse = false, max_body =, max_line =, max_event = }
 *   r:feed(bytes)     true | nil, err    bytes as they came off the connection
 *   r:eof()           true | nil, err    the peer closed: a close-delimited body ends,
 *                                        anything else cut short is an error
 *   r:headers()       status, headers, sse | nil (the head is not complete yet) | nil, err
 *                     (callable again; headers: names lower-cased, repeats joined by ", ")
 *   r:next_event()    ev | nil (none queued now)   (sse: a 2xx text/event-stream answer)
 *   r:done()          true once the response is complete (then r:partial(): the event
 *                     stream ended inside an event)
 *   r:body()          the buffered body (a non-event-stream response, once done)
 *   r:want()          0: complete (or failed); else at least how many more bytes it needs
 *                     (the bytes left of a Content-Length body; 1 when unknown)
 *   r:keepalive()     true when the connection may carry another request
 *   r:error()         err | nil
 *   r:close()         frees it (also __gc and __close)
 *
 * err = {kind=, code=, message=}: the kinds of the curl path (transport, too_large,
 * sse); code names the condition found by the reader ("bad_response", "bad_chunk",
 * "bad_length", "bad_coding", "content_encoding", "empty_reply", "closed_early"),
 * absent for the head rules resp.c applies on both paths.
 */
#include "bind.h"
#include "h1.h"

#include <string.h>

#define RESP_MT "exa.response"

typedef struct lresp {
  exa_resp r;
  exa_h1 h;
  int open;
} lresp;

static lresp *check(lua_State *L) {
  lresp *u = (lresp *)luaL_checkudata(L, 1, RESP_MT);
  if (!u->open) luaL_error(L, "exa.response: used after close()");
  return u;
}

static int ret_err(lua_State *L, const lresp *u) {
  lua_pushnil(L);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, exa_kind_name(u->r.ek));
  lua_setfield(L, -2, "kind");
  if (u->h.code) {
    lua_pushstring(L, u->h.code);
    lua_setfield(L, -2, "code");
  }
  lua_pushstring(L, u->r.emsg);
  lua_setfield(L, -2, "message");
  return 2;
}

static int r_feed(lua_State *L) {
  lresp *u = check(L);
  size_t n;
  const char *b = luaL_checklstring(L, 2, &n);
  if (exa_h1_feed(&u->h, b, n) == EXA_RESP_FAIL) return ret_err(L, u);
  lua_pushboolean(L, 1);
  return 1;
}

static int r_eof(lua_State *L) {
  lresp *u = check(L);
  if (exa_h1_eof(&u->h) != 0) return ret_err(L, u);
  lua_pushboolean(L, 1);
  return 1;
}

static int r_headers(lua_State *L) {
  lresp *u = check(L);
  if (u->r.ek != EXA_EK_NONE && !(u->r.head_done && u->h.mode != EXA_H1_HEAD)) return ret_err(L, u);
  if (!u->r.head_done || u->h.mode == EXA_H1_HEAD) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushinteger(L, (lua_Integer)u->r.status);
  exa_push_headers(L, u->r.hdrs.p, u->r.hdrs.len);
  lua_pushboolean(L, u->r.is_sse);
  return 3;
}

static int r_next_event(lua_State *L) {
  lresp *u = check(L);
  const exa_ev *e = exa_resp_peek(&u->r);
  exa_sse_event ev;
  if (e == NULL) {
    lua_pushnil(L);
    return 1;
  }
  exa_ev_view(e, &ev);
  luaL_checkstack(L, EXA_EVENT_KEYS + 2, "next_event");
  exa_push_event_keys(L);
  exa_push_event(L, lua_gettop(L) - EXA_EVENT_KEYS + 1, &ev);
  exa_resp_drop(&u->r);
  return 1;
}

static int r_done(lua_State *L) {
  lresp *u = check(L);
  lua_pushboolean(L, exa_h1_done(&u->h) && u->r.ek == EXA_EK_NONE);
  return 1;
}

static int r_partial(lua_State *L) {
  lua_pushboolean(L, check(L)->r.partial);
  return 1;
}

static int r_body(lua_State *L) {
  lresp *u = check(L);
  lua_pushlstring(L, u->r.body.p ? u->r.body.p : "", u->r.body.len);
  return 1;
}

static int r_want(lua_State *L) {
  unsigned long long w = exa_h1_want(&check(L)->h);
  lua_pushnumber(L, (lua_Number)w);
  return 1;
}

static int r_keepalive(lua_State *L) {
  lua_pushboolean(L, exa_h1_keepalive(&check(L)->h));
  return 1;
}

static int r_error(lua_State *L) {
  lresp *u = check(L);
  if (u->r.ek == EXA_EK_NONE) {
    lua_pushnil(L);
    return 1;
  }
  ret_err(L, u);
  lua_remove(L, -2);
  return 1;
}

static int r_close(lua_State *L) {
  lresp *u = (lresp *)luaL_checkudata(L, 1, RESP_MT);
  if (u->open) {
    u->open = 0;
    exa_h1_free(&u->h);
    exa_resp_free(&u->r);
  }
  return 0;
}

static int r_tostring(lua_State *L) {
  lresp *u = (lresp *)luaL_checkudata(L, 1, RESP_MT);
  if (u->open) lua_pushfstring(L, RESP_MT " (%p)", (void *)u);
  else lua_pushliteral(L, RESP_MT " (closed)");
  return 1;
}

/* core.response([{method=, sse=, max_body=, max_line=, max_event=}]) */
static int r_new(lua_State *L) {
  exa_resp_cfg cfg;
  const char *method = "GET";
  lresp *u;
  memset(&cfg, 0, sizeof cfg);
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTABLE);
    cfg.max_body = exa_opt_size(L, 1, "max_body");
    cfg.max_line = exa_opt_size(L, 1, "max_line");
    cfg.max_event = exa_opt_size(L, 1, "max_event");
    lua_getfield(L, 1, "sse");
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TBOOLEAN) luaL_argerror(L, 1, "option 'sse' must be a boolean");
    cfg.want_sse = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, 1, "method");
    if (!lua_isnil(L, -1)) {
      if (lua_type(L, -1) != LUA_TSTRING) luaL_argerror(L, 1, "option 'method' must be a string");
      method = lua_tostring(L, -1);
    }
  }
  u = (lresp *)lua_newuserdatauv(L, sizeof *u, 0);
  exa_resp_init(&u->r, &cfg);
  u->r.cfg.max_queued = (size_t)-1; /* the Lua side drains the queue before it feeds more */
  exa_h1_init(&u->h, &u->r, 1, strcmp(method, "HEAD") == 0);
  u->open = 1;
  luaL_setmetatable(L, RESP_MT);
  return 1;
}

void exa_open_h1(lua_State *L) {
  static const luaL_Reg methods[] = {{"feed", r_feed},       {"eof", r_eof},     {"headers", r_headers},
                                     {"next_event", r_next_event}, {"done", r_done}, {"partial", r_partial},
                                     {"body", r_body},       {"want", r_want},   {"keepalive", r_keepalive},
                                     {"error", r_error},     {"close", r_close}, {NULL, NULL}};
  exa_new_type(L, RESP_MT, methods, r_close, r_tostring);
  lua_pushcfunction(L, r_new);
  lua_setfield(L, -2, "response");
}
