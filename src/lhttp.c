/*
 * lhttp.c - the Lua binding of the driver (driver.c): multis and transfers.
 *
 *   m = core.multi{max_host_connections=, max_total_connections=, log_sockets=}
 *   t = m:request(spec)        started at once; spec.once: libcurl never sends the body twice
 *   t:id()                     integer, unique per multi
 *   t:headers([wait_ms])       status, headers, sse | nil, err | false (sse: the body
 *                              is framed as an event stream: spec.sse and a 2xx text/event-stream)
 *   t:next_event([wait_ms])    ev | nil, nil, partial (clean end) | nil, err | false
 *                              (spec.json: ev in the stream's final shape, data decoded; bind.h)
 *   t:finish([wait_ms])        {status=, headers=, body=} | nil, err | false
 *   t:info(), t:close()
 *   m:wait([ms])               drive (epoll/poll on curl's sockets); ids that made progress
 *   m:action(fd, events)       a host loop's socket is ready (fd = -1: the timer); ids
 *   m:timeout()                ms until m:action(-1) is due, -1: nothing due
 *   m:changes()                (log_sockets) {{fd, what, fd=, what=}, ...} since the last call
 *   m:fd()                     the epoll fd, or nil
 *   m:count()                  transfers still running
 *   m:stats()                  {steps=, actions=, idle_scans=, idle_visits=, upload_buffers_freed=}: what the
 *                              driver did (wake-ups, socket_action calls, idle scans)
 *   m:perform([wait_ms])       one round of m:wait, then m:count() (kept from before)
 *   m:close()                  running transfers end "closed"; then m:timeout() is -1,
 *                              m:action() reports nothing, m:fd() is nil and m:changes()
 *                              gives the last removes: a host loop winds down quietly
 *
 * wait_ms absent: block (driving the multi) until ready; 0: never block and
 * never drive, report readiness only; > 0: drive at most that long, false
 * when not ready by then.  No Lua runs while curl does: a coroutine can yield
 * between any two calls.  Failures after the request was accepted come back
 * as values (nil, {kind=, code=, message=}); programmer errors raise.
 */
#include "bind.h"
#include "driver.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MULTI_MT "exa.multi"
#define XFER_MT "exa.transfer"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000L

/* The transfer itself lives outside the Lua heap: the userdata is a small box
 * that owns it.  What the collector counts grows its next threshold, so 1.3 KB
 * of live userdata per open stream also let as much garbage pile up before a
 * cycle (bench/loop_scale.lua, peak memory per stream). */
typedef struct ltransfer {
  exa_xfer *x;                  /* freed by __gc only: t:id() works after close */
  long long id;                 /* x's, kept for t:id() after __gc (other finalizers) */
  int started;                  /* x belongs to the driver */
  int closed;
  int mref;                     /* registry ref: the multi outlives this transfer */
  int json;                     /* spec.json: events in the stream's final shape (bind.h) */
  struct curl_slist *pending;   /* request headers while the spec is read */
} ltransfer;

static exa_multi *check_multi(lua_State *L, int i) { return (exa_multi *)luaL_checkudata(L, i, MULTI_MT); }

static exa_multi *check_open_multi(lua_State *L, int i, const char *what) {
  exa_multi *m = check_multi(L, i);
  if (m->cm == NULL) luaL_error(L, "exa.multi: %s() after close()", what);
  return m;
}

static exa_xfer *check_xfer(lua_State *L, int i) {
  ltransfer *t = (ltransfer *)luaL_checkudata(L, i, XFER_MT);
  if (t->closed) luaL_error(L, "exa.transfer: used after close()");
  return t->x;
}

/* A wait at index i: 0 when absent (block: *deadline = -1), 1 when 0 (poll
 * only), 2 with an absolute *deadline.  Raises on a bad value. */
static int opt_wait(lua_State *L, int i, long long *deadline) {
  lua_Number w;
  *deadline = -1;
  if (lua_isnoneornil(L, i)) return 0;
  w = luaL_checknumber(L, i);
  if (!(w >= 0)) luaL_argerror(L, i, "wait_ms must be >= 0");
  if (w == 0) return 1;
  if (w > 1e12) return 0;
  *deadline = exa_now_ms() + (long long)ceil(w);
  return 2;
}

typedef int (*ready_fn)(const exa_xfer *x);
static int head_ready(const exa_xfer *x) { return x->r.head_done || x->done; }
static int event_ready(const exa_xfer *x) {
  return x->r.qhead != NULL || x->done || (x->r.head_done && !x->r.is_sse);
}
static int done_ready(const exa_xfer *x) { return x->done; }

/* 1: ready; 0: not within the wait.  mode/deadline from opt_wait. */
static int wait_for(exa_xfer *x, ready_fn ready, int mode, long long deadline) {
  for (;;) {
    if (ready(x)) return 1;
    if (x->m == NULL) return 1; /* cannot happen: a detached transfer is done */
    if (mode == 1 || (mode == 2 && exa_now_ms() >= deadline)) return 0;
    exa_multi_step(x->m, deadline);
  }
}

static int ret_err(lua_State *L, const exa_xfer *x) {
  return exa_push_error(L, exa_kind_name(x->r.ek), x->r.ecode, x->r.emsg);
}
static int ret_misuse(lua_State *L, const char *msg) { return exa_push_error(L, "sse", -1, msg); }

static void push_headers(lua_State *L, const exa_xfer *x) { exa_push_headers(L, x->r.hdrs.p, x->r.hdrs.len); }

/* ---- transfers ---------------------------------------------------------- */

/* t:id(): also after close (a loop may forget a closed transfer by its id) */
static int t_id(lua_State *L) {
  ltransfer *t = (ltransfer *)luaL_checkudata(L, 1, XFER_MT);
  lua_pushinteger(L, (lua_Integer)t->id);
  return 1;
}

/* t:headers([wait_ms]) -> status, headers | nil, err | false */
static int t_headers(lua_State *L) {
  exa_xfer *x = check_xfer(L, 1);
  long long deadline;
  int mode = opt_wait(L, 2, &deadline);
  if (!wait_for(x, head_ready, mode, deadline)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (!x->r.head_done) return ret_err(L, x);
  lua_pushinteger(L, (lua_Integer)x->r.status);
  push_headers(L, x);
  lua_pushboolean(L, x->r.is_sse);
  return 3;
}

/* t:next_event([wait_ms]) -> event | nil, nil, partial (clean end) | nil, err | false */
static int t_next_event(lua_State *L) {
  exa_xfer *x = check_xfer(L, 1);
  int json = ((ltransfer *)lua_touserdata(L, 1))->json;
  long long deadline;
  int mode = opt_wait(L, 2, &deadline);
  const exa_ev *e;
  exa_sse_event ev;
  if (!x->r.cfg.want_sse) return ret_misuse(L, "next_event: the request was not made with sse = true");
  if (!wait_for(x, event_ready, mode, deadline)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  e = exa_resp_peek(&x->r);
  if (e == NULL) {
    if (x->r.ek != EXA_EK_NONE) return ret_err(L, x);
    if (x->r.head_done && !x->r.is_sse) {
      char msg[256];
      size_t n = 0;
      const char *ct = exa_resp_header_get(&x->r, "content-type", &n);
      snprintf(msg, sizeof msg,
               "next_event: the response is not an event stream (status %ld, content-type %.80s); "
               "read it with finish()",
               x->r.status, ct ? ct : "none");
      return ret_misuse(L, msg);
    }
    lua_pushnil(L); /* the stream ended cleanly */
    lua_pushnil(L);
    lua_pushboolean(L, x->r.partial);
    return 3;
  }
  /* build the table first: if Lua runs out of memory the event stays queued */
  exa_ev_view(e, &ev);
  luaL_checkstack(L, EXA_EVENT_KEYS + 6, "next_event");
  exa_push_event_keys(L);
  if (json) exa_push_event_json(L, lua_gettop(L) - EXA_EVENT_KEYS + 1, &ev);
  else exa_push_event(L, lua_gettop(L) - EXA_EVENT_KEYS + 1, &ev);
  exa_resp_drop(&x->r);
  exa_xfer_drained(x);
  return 1;
}

/* t:finish([wait_ms]) -> {status=, headers=, body=} | nil, err | false */
static int t_finish(lua_State *L) {
  exa_xfer *x = check_xfer(L, 1);
  long long deadline;
  int mode = opt_wait(L, 2, &deadline);
  if (!wait_for(x, head_ready, mode, deadline)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (x->r.is_sse && (x->r.ek == EXA_EK_NONE || x->r.qhead != NULL))
    return ret_misuse(L, "finish: the response is an event stream; read it with next_event()");
  if (!wait_for(x, done_ready, mode, deadline)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (x->r.ek != EXA_EK_NONE) return ret_err(L, x);
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)x->r.status);
  lua_setfield(L, -2, "status");
  push_headers(L, x);
  lua_setfield(L, -2, "headers");
  if (!x->r.is_sse) {
    lua_pushlstring(L, x->r.body.p ? x->r.body.p : "", x->r.body.len);
    lua_setfield(L, -2, "body");
  }
  return 1;
}

static const char *version_name(long v) {
  switch (v) {
    case CURL_HTTP_VERSION_1_0: return "1.0";
    case CURL_HTTP_VERSION_1_1: return "1.1";
    case CURL_HTTP_VERSION_2_0: return "2";
#ifdef CURL_HTTP_VERSION_3
    case CURL_HTTP_VERSION_3: return "3";
#endif
    default: return NULL;
  }
}

/* t:info() -> table */
static int t_info(lua_State *L) {
  exa_xfer *x = check_xfer(L, 1);
  const char *ver;
  exa_xfer_snapshot(x);
  lua_createtable(L, 0, 12);
  lua_pushinteger(L, (lua_Integer)x->id);
  lua_setfield(L, -2, "id");
  lua_pushinteger(L, (lua_Integer)x->r.status);
  lua_setfield(L, -2, "status");
  if ((ver = version_name(x->http_version)) != NULL) {
    lua_pushstring(L, ver);
    lua_setfield(L, -2, "http_version");
  }
  lua_pushinteger(L, (lua_Integer)x->num_connects);
  lua_setfield(L, -2, "num_connects");
  lua_pushnumber(L, (lua_Number)x->total_time);
  lua_setfield(L, -2, "total_time");
  lua_pushinteger(L, (lua_Integer)x->size_download);
  lua_setfield(L, -2, "size_download");
  lua_pushinteger(L, (lua_Integer)x->r.queued_peak);
  lua_setfield(L, -2, "queued_peak");
  lua_pushinteger(L, (lua_Integer)x->r.queued);
  lua_setfield(L, -2, "queued");
  lua_pushinteger(L, (lua_Integer)x->npaused);
  lua_setfield(L, -2, "paused");
  lua_pushinteger(L, (lua_Integer)x->r.nevents);
  lua_setfield(L, -2, "events");
  lua_pushboolean(L, x->done);
  lua_setfield(L, -2, "done");
  if (x->eff_url) {
    lua_pushstring(L, x->eff_url);
    lua_setfield(L, -2, "effective_url");
  }
  return 1;
}

/* t:close(): idempotent; also __gc and __close */
static int t_close(lua_State *L) {
  ltransfer *t = (ltransfer *)luaL_checkudata(L, 1, XFER_MT);
  if (t->closed) return 0;
  t->closed = 1;
  if (t->started) exa_xfer_close(t->x);
  curl_slist_free_all(t->pending);
  t->pending = NULL;
  if (t->mref != LUA_NOREF && t->mref != LUA_REFNIL) {
    luaL_unref(L, LUA_REGISTRYINDEX, t->mref);
    t->mref = LUA_NOREF;
  }
  return 0;
}

static int t_gc(lua_State *L) {
  ltransfer *t = (ltransfer *)luaL_checkudata(L, 1, XFER_MT);
  t_close(L);
  free(t->x);
  t->x = NULL;
  return 0;
}

static int t_tostring(lua_State *L) {
  ltransfer *t = (ltransfer *)luaL_checkudata(L, 1, XFER_MT);
  const char *state = t->closed || t->x == NULL ? "closed" : t->x->done ? "done" : "running";
  lua_pushfstring(L, "exa.transfer (%s): %p", state, (void *)t);
  return 1;
}

/* ---- m:request(spec) -------------------------------------------------- */

/* Leaves the value on the stack, so the string stays anchored even when the
 * spec's __index made it up. */
static const char *opt_string_field(lua_State *L, int t, const char *k, int required) {
  lua_getfield(L, t, k);
  if (lua_isnil(L, -1)) {
    if (required) luaL_error(L, "request: spec.%s is required", k);
    return NULL;
  }
  if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "request: spec.%s must be a string", k);
  return lua_tostring(L, -1);
}

/* what.k (what: "request: spec" or "multi: opts", for the message): -1 when
 * absent, else a finite number from 0 to max (max_s: max as written); else
 * raises (NaN and inf included: programmer errors). */
static lua_Number opt_num_field(lua_State *L, int t, const char *what, const char *k, lua_Number max,
                                const char *max_s) {
  lua_Number v;
  int isnum;
  lua_getfield(L, t, k);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return -1;
  }
  isnum = lua_type(L, -1) == LUA_TNUMBER;
  v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!isnum || !(v >= 0) || !(v <= max))
    luaL_error(L, "%s.%s must be a number from 0 to %s", what, k, max_s);
  return v;
}

/* A duration in ms or a count; absent: dflt.  A fraction rounds up, so a
 * tiny positive timeout never becomes 0 (to curl: no timeout at all). */
static long opt_long_field(lua_State *L, int t, const char *what, const char *k, long dflt) {
  lua_Number v = opt_num_field(L, t, what, k, 2e9, "2e9");
  return v < 0 ? dflt : (long)ceil(v);
}

/* A byte bound of the request spec; absent or 0: 0 (the default applies). */
static size_t opt_size_field(lua_State *L, const char *k) {
  lua_Number v = opt_num_field(L, 2, "request: spec", k, 4e15, "4e15");
  return v <= 0 ? 0 : (size_t)v;
}

static int opt_bool_field(lua_State *L, int t, const char *what, const char *k) {
  int b;
  lua_getfield(L, t, k);
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TBOOLEAN) luaL_error(L, "%s.%s must be a boolean", what, k);
  b = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return b;
}

static int is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int m_request(lua_State *L) {
  exa_multi *m = check_multi(L, 1);
  exa_req req;
  const char *p;
  ltransfer *t;
  int json;
  struct curl_slist *headers;
  luaL_checktype(L, 2, LUA_TTABLE);
  if (m->cm == NULL) return luaL_error(L, "exa.multi: request() after close()");
  memset(&req, 0, sizeof req);
  req.method = opt_string_field(L, 2, "method", 1);
  for (p = req.method; *p; p++)
    if (!is_tchar(*p)) break;
  if (*p || p == req.method)
    return luaL_error(L, "request: spec.method '%s' is not an HTTP method", req.method);
  req.url = opt_string_field(L, 2, "url", 1);
  lua_getfield(L, 2, "body");
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "request: spec.body must be a string");
  req.body = lua_tolstring(L, -1, &req.body_len); /* stays on the stack */
  req.ca_file = opt_string_field(L, 2, "ca_file", 0);
  req.timeout_ms = opt_long_field(L, 2, "request: spec", "timeout", 0);
  req.connect_timeout_ms = opt_long_field(L, 2, "request: spec", "connect_timeout", DEFAULT_CONNECT_TIMEOUT_MS);
  req.idle_ms = opt_long_field(L, 2, "request: spec", "idle_timeout", 0);
  req.once = opt_bool_field(L, 2, "request: spec", "once");
  req.resp.want_sse = opt_bool_field(L, 2, "request: spec", "sse");
  json = opt_bool_field(L, 2, "request: spec", "json");
  req.resp.max_line = opt_size_field(L, "max_line");
  req.resp.max_event = opt_size_field(L, "max_event");
  req.resp.max_body = opt_size_field(L, "max_body");
  req.resp.max_queued = opt_size_field(L, "max_queued");

  t = (ltransfer *)lua_newuserdatauv(L, sizeof(ltransfer), 0);
  memset(t, 0, sizeof *t);
  t->mref = LUA_NOREF;
  t->json = json;
  luaL_setmetatable(L, XFER_MT); /* from here on __gc frees whatever is attached */
  t->x = (exa_xfer *)calloc(1, sizeof *t->x);
  if (t->x == NULL) return luaL_error(L, "request: out of memory");

  lua_getfield(L, 2, "headers");
  if (!lua_isnil(L, -1)) {
    lua_Integer i;
    if (lua_type(L, -1) != LUA_TTABLE) return luaL_error(L, "request: spec.headers must be an array");
    for (i = 1;; i++) {
      size_t hl;
      const char *h;
      struct curl_slist *sl;
      if (exa_rawgeti(L, -1, i) == LUA_TNIL) {
        lua_pop(L, 1);
        break;
      }
      if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "request: spec.headers[%d] must be a string", (int)i);
      h = lua_tolstring(L, -1, &hl);
      /* "Name: value"; curl's "Name:" (drop a default header) and "Name;" (send it empty) */
      if (strlen(h) != hl || strpbrk(h, "\r\n") != NULL || strpbrk(h, ":;") == NULL)
        return luaL_error(L, "request: spec.headers[%d] must be one \"Name: value\" line", (int)i);
      sl = curl_slist_append(t->pending, h);
      if (sl == NULL) return luaL_error(L, "request: out of memory");
      t->pending = sl;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);

  lua_pushvalue(L, 1);
  t->mref = luaL_ref(L, LUA_REGISTRYINDEX);
  headers = t->pending;
  t->pending = NULL;
  t->started = 1;
  exa_xfer_start(m, t->x, &req, headers); /* a failure to start is read like any other */
  t->id = t->x->id;
  return 1;
}

/* ---- the multi -------------------------------------------------------- */

/* core.multi([opts]) */
static int l_multi(lua_State *L) {
  exa_multi_opts o;
  exa_multi *m;
  memset(&o, 0, sizeof o);
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTABLE);
    o.max_host_connections = opt_long_field(L, 1, "multi: opts", "max_host_connections", 0);
    o.max_total_connections = opt_long_field(L, 1, "multi: opts", "max_total_connections", 0);
    o.log_sockets = opt_bool_field(L, 1, "multi: opts", "log_sockets");
  }
  m = (exa_multi *)lua_newuserdatauv(L, sizeof(exa_multi), 0);
  memset(m, 0, sizeof *m);
  m->epfd = -1;
  luaL_setmetatable(L, MULTI_MT);
  if (exa_multi_open(m, &o) != 0) return luaL_error(L, "exa.multi: curl_multi_init or epoll_create1 failed");
  return 1;
}

/* The progressed transfers' ids, then the ready watched fds' ids, as an
 * array; the lists are emptied. */
static int push_progressed(lua_State *L, exa_multi *m) {
  int n = 0;
  exa_xfer *x;
  long long fid;
  lua_newtable(L);
  while ((x = exa_multi_pop_progressed(m)) != NULL) {
    lua_pushinteger(L, (lua_Integer)x->id);
    lua_rawseti(L, -2, ++n);
  }
  while ((fid = exa_multi_pop_ready_fd(m)) != 0) {
    lua_pushinteger(L, (lua_Integer)fid);
    lua_rawseti(L, -2, ++n);
  }
  return 1;
}

/* m:wait([ms]) -> ids: drive until something made progress or ms passed
 * (absent or negative: until something made progress, or nothing runs). */
static int m_wait(lua_State *L) {
  exa_multi *m = check_open_multi(L, 1, "wait");
  lua_Number ms = luaL_optnumber(L, 2, -1);
  long long deadline = -1;
  if (ms != ms) return luaL_argerror(L, 2, "ms must be a number");
  if (ms >= 0) deadline = ms > 1e12 ? -1 : exa_now_ms() + (long long)ceil(ms);
  if (m->phead != NULL || m->nready_foreign > 0) deadline = exa_now_ms(); /* pending: one look, no sleep */
  for (;;) {
    if (deadline < 0 && m->nrunning == 0 && m->phead == NULL && m->foreign == NULL) break;
    exa_multi_step(m, deadline);
    if (m->phead != NULL || m->nready_foreign > 0 || (deadline >= 0 && exa_now_ms() >= deadline)) break;
  }
  return push_progressed(L, m);
}

/* m:action(fd, events) -> ids */
static int m_action(lua_State *L) {
  static const char *const names[] = {"in", "out", "inout", "err", NULL};
  static const int masks[] = {CURL_CSELECT_IN, CURL_CSELECT_OUT, CURL_CSELECT_IN | CURL_CSELECT_OUT,
                              CURL_CSELECT_ERR};
  exa_multi *m = check_multi(L, 1);
  lua_Integer fd = luaL_checkinteger(L, 2);
  int mask = 0;
  if (fd < -1 || fd > INT_MAX) return luaL_argerror(L, 2, "fd must be -1 (the timer) or a socket");
  if (fd >= 0) mask = masks[luaL_checkoption(L, 3, NULL, names)];
  exa_multi_action(m, (int)fd, mask); /* after close: nothing to do */
  return push_progressed(L, m);
}

/* m:timeout() -> ms, -1: nothing due */
static int m_timeout(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)exa_multi_timeout(check_multi(L, 1))); /* closed: -1 */
  return 1;
}

/* m:changes() -> {{fd, what, fd = fd, what = what}, ...} in order, since the last call */
static int m_changes(lua_State *L) {
  static const char *const what[] = {"remove", "in", "out", "inout"};
  exa_multi *m = check_multi(L, 1); /* closed: the last removes, then nothing */
  size_t n, i;
  const exa_change *c;
  if (!m->log_sockets) return luaL_error(L, "exa.multi: changes() needs core.multi{log_sockets = true}");
  c = exa_multi_changes(m, &n);
  lua_createtable(L, (int)n, 0);
  for (i = 0; i < n; i++) {
    lua_createtable(L, 2, 2);
    lua_pushinteger(L, c[i].fd);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, 1);
    lua_setfield(L, -2, "fd");
    lua_pushstring(L, what[c[i].what]);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, 2);
    lua_setfield(L, -2, "what");
    lua_rawseti(L, -2, (int)i + 1);
  }
  exa_multi_changes_clear(m);
  return 1;
}

/* m:watch(fd) -> id: a host's fd watched for reading like a transfer; m:wait
 * and m:action report id while it is readable.  nil, message on failure. */
static int m_watch(lua_State *L) {
  exa_multi *m = check_open_multi(L, 1, "watch");
  lua_Integer fd = luaL_checkinteger(L, 2);
  long long id;
  if (fd < 0 || fd > INT_MAX) return luaL_argerror(L, 2, "fd must be a file descriptor");
  id = exa_multi_watch_fd(m, (int)fd);
  if (id < 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "cannot watch this fd (one of curl's sockets, or not pollable)");
    return 2;
  }
  lua_pushinteger(L, (lua_Integer)id);
  return 1;
}

/* m:unwatch(id): forget a watched fd (before closing it); unknown ids are ignored. */
static int m_unwatch(lua_State *L) {
  exa_multi *m = check_multi(L, 1);
  exa_multi_unwatch_fd(m, (long long)luaL_checkinteger(L, 2));
  return 0;
}

/* m:fd() -> the epoll fd, or nil */
static int m_fd(lua_State *L) {
  exa_multi *m = check_multi(L, 1);
  if (m->epfd < 0) lua_pushnil(L); /* no epoll here, or closed */
  else lua_pushinteger(L, m->epfd);
  return 1;
}

static int m_count(lua_State *L) {
  exa_multi *m = check_multi(L, 1);
  lua_pushinteger(L, (lua_Integer)m->nrunning);
  return 1;
}

/* m:stats() -> counts of what the driver did */
static int m_stats(lua_State *L) {
  exa_multi *m = check_multi(L, 1);
  lua_createtable(L, 0, 5);
  lua_pushinteger(L, (lua_Integer)m->n_steps);
  lua_setfield(L, -2, "steps");
  lua_pushinteger(L, (lua_Integer)m->n_actions);
  lua_setfield(L, -2, "actions");
  lua_pushinteger(L, (lua_Integer)m->n_idle_scans);
  lua_setfield(L, -2, "idle_scans");
  lua_pushinteger(L, (lua_Integer)m->n_upload_freed);
  lua_setfield(L, -2, "upload_buffers_freed");
  lua_pushinteger(L, (lua_Integer)m->n_idle_visits);
  lua_setfield(L, -2, "idle_visits");
  return 1;
}

/* m:perform([wait_ms]) -> transfers still running: one round of driving */
static int m_perform(lua_State *L) {
  exa_multi *m = check_open_multi(L, 1, "perform");
  lua_Number w = luaL_optnumber(L, 2, 0);
  if (!(w >= 0)) return luaL_argerror(L, 2, "wait_ms must be >= 0");
  exa_multi_step(m, exa_now_ms() + (long long)ceil(w > 1e12 ? 1e12 : w));
  lua_pushinteger(L, (lua_Integer)m->nrunning);
  return 1;
}

/* m:close(): idempotent; also __gc and __close.  Running transfers end with
 * a "closed" error; finished ones keep their results. */
static int m_close(lua_State *L) {
  exa_multi_close(check_multi(L, 1));
  return 0;
}

static int m_gc(lua_State *L) {
  exa_multi_free(check_multi(L, 1));
  return 0;
}

static int m_tostring(lua_State *L) {
  exa_multi *m = check_multi(L, 1);
  lua_pushfstring(L, "exa.multi (%s): %p", m->cm ? "open" : "closed", (void *)m);
  return 1;
}

static const luaL_Reg multi_methods[] = {{"request", m_request}, {"wait", m_wait},       {"action", m_action},
                                         {"timeout", m_timeout}, {"changes", m_changes}, {"fd", m_fd},
                                         {"count", m_count},     {"stats", m_stats},     {"perform", m_perform},
                                         {"close", m_close},     {"watch", m_watch},     {"unwatch", m_unwatch},
                                         {NULL, NULL}};
static const luaL_Reg xfer_methods[] = {{"id", t_id},     {"headers", t_headers}, {"next_event", t_next_event},
                                        {"finish", t_finish}, {"info", t_info},   {"close", t_close},
                                        {NULL, NULL}};

void exa_open_http(lua_State *L) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  exa_new_type(L, MULTI_MT, multi_methods, m_close, m_tostring);
  luaL_getmetatable(L, MULTI_MT);
  lua_pushcfunction(L, m_gc); /* __gc frees the change log that close keeps */
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  exa_new_type(L, XFER_MT, xfer_methods, t_close, t_tostring);
  luaL_getmetatable(L, XFER_MT);
  lua_pushcfunction(L, t_gc); /* __gc also frees the transfer that close keeps for t:id() */
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_multi);
  lua_setfield(L, -2, "multi");
}
