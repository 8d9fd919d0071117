/*
 * http.c - transfers on a libcurl multi handle, pulled, not pushed.
 *
 *   core.multi([opts])   -> exa.multi: one connection pool, many transfers
 *   m:request(spec)      -> exa.transfer, added to the multi, started lazily
 *   t:headers([wait])    -> status, headers      once the final head is in
 *   t:next_event([wait]) -> {event=,data=,id=}   as soon as one is complete
 *   t:finish([wait])     -> {status=,headers=,body=}
 *
 * A blocking call drives the multi (perform, info_read, poll) only until its
 * own transfer has what was asked for; the others progress meanwhile and
 * queue their own events.  Curl's callbacks never see a lua_State: bytes go
 * from the write callback into the framer (sse.h) or a body buffer, complete
 * events are copied into a per-transfer queue, failures are recorded on the
 * transfer and reported to curl as an error return.  So no Lua code runs
 * while curl does, and a coroutine can yield between any two calls.
 *
 * Failures after the request was accepted come back as values: nil and
 * {kind=, code=, message=}.  Programmer errors raise.
 */
#include "compat.h"
#include "sse.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MULTI_MT "exa.multi"
#define XFER_MT "exa.transfer"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_MAX_BODY ((size_t)64 << 20)
#define DEFAULT_MAX_QUEUED ((size_t)1 << 20)
#define MAX_HEAD_BYTES ((size_t)256 << 10) /* all header lines of one response */
#define POOL_MAX 8                         /* idle easy handles kept for reuse */
#define POLL_CAP_MS 1000L                  /* never sleep longer than this at once */

/* ---- small pieces --------------------------------------------------- */

typedef struct buf {
  char *p;
  size_t len, cap;
} buf;

static int buf_add(buf *b, const char *s, size_t n) {
  if (n > b->cap - b->len) {
    size_t cap = b->cap ? b->cap : 256;
    char *p;
    while (cap - b->len < n) {
      if (cap > ((size_t)-1) / 2) return -1;
      cap *= 2;
    }
    p = (char *)realloc(b->p, cap);
    if (p == NULL) return -1;
    b->p = p;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->len, s, n);
  b->len += n;
  return 0;
}

static void buf_free(buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }
static int is_sp(char c) { return c == ' ' || c == '\t'; }

static int ieq(const char *a, size_t an, const char *b) {
  size_t i, bn = strlen(b);
  if (an != bn) return 0;
  for (i = 0; i < an; i++)
    if (lower(a[i]) != lower(b[i])) return 0;
  return 1;
}

/* ---- types ---------------------------------------------------------- */

enum {
  EK_NONE = 0,
  EK_TIMEOUT,
  EK_CONNECT,
  EK_DNS,
  EK_TLS,
  EK_TRANSPORT,
  EK_TOO_LARGE,
  EK_SSE,
  EK_CLOSED
};
static const char *const kind_names[] = {"none",      "timeout",   "connect", "dns",   "tls",
                                         "transport", "too_large", "sse",     "closed"};

/* One complete event: its three strings live right after the node. */
typedef struct ev_node {
  struct ev_node *next;
  size_t type_len, data_len, id_len;
  long retry;
  char bytes[]; /* type, data, id: back to back */
} ev_node;

/* What a queued event counts against max_queued. */
static size_t node_size(const ev_node *e) { return sizeof(ev_node) + e->type_len + e->data_len + e->id_len; }

typedef struct xfer xfer;

typedef struct multi {
  CURLM *cm;       /* NULL once closed */
  xfer *head;      /* transfers still running on this multi */
  CURL *pool[POOL_MAX];
  int npool;
} multi;

struct xfer {
  multi *m;        /* the multi while running on it; NULL once done or closed */
  xfer *prev, *next;
  CURL *easy;      /* NULL once released */
  struct curl_slist *req_headers;
  int mref;        /* registry ref: the multi userdata outlives this transfer */
  int closed;      /* t:close() or __gc ran */
  int done;        /* nothing more will arrive */
  int started;     /* driven at least once (the idle clock runs from then) */
  /* failure: the first one wins */
  int ek;
  long ecode;      /* curl code, or -1 */
  char emsg[CURL_ERROR_SIZE + 160];
  char errbuf[CURL_ERROR_SIZE];
  /* the response head */
  int in_head, head_done;
  long status;
  buf hdrs;        /* "name\0value\0" pairs of the response in progress */
  /* the response body */
  int want_sse, is_sse;
  size_t max_line, max_event, max_body, max_queued;
  buf body;
  exa_sse sse;
  ev_node *qhead, *qtail;
  size_t queued, queued_peak;
  int paused;
  long npaused;
  /* idle timeout */
  long idle_ms;
  long long last_ms;
  /* info, kept when the easy handle goes back to the pool */
  long http_version, num_connects;
  double total_time;
  curl_off_t size_download;
  char *eff_url;
};

static void fail(xfer *x, int kind, long code, const char *fmt, ...) {
  va_list ap;
  if (x->ek != EK_NONE) return;
  x->ek = kind;
  x->ecode = code;
  va_start(ap, fmt);
  vsnprintf(x->emsg, sizeof x->emsg, fmt, ap);
  va_end(ap);
}

static int curl_kind(CURLcode rc) {
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT: return EK_TIMEOUT;
    case CURLE_COULDNT_CONNECT: return EK_CONNECT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return EK_DNS;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED: return EK_TLS;
    default: return EK_TRANSPORT;
  }
}

static void fail_curl(xfer *x, CURLcode rc) {
  if (x->errbuf[0])
    fail(x, curl_kind(rc), (long)rc, "%s: %s", curl_easy_strerror(rc), x->errbuf);
  else
    fail(x, curl_kind(rc), (long)rc, "%s", curl_easy_strerror(rc));
}

/* ---- curl callbacks: no Lua in here ---------------------------------- */

static const char *head_get(const xfer *x, const char *name, size_t *vlen) {
  const char *p = x->hdrs.p, *end = p + x->hdrs.len;
  while (p < end) {
    const char *n = p, *v = n + strlen(n) + 1;
    p = v + strlen(v) + 1;
    if (strcmp(n, name) == 0) {
      *vlen = strlen(v);
      return v;
    }
  }
  return NULL;
}

static int is_event_stream(const xfer *x) {
  size_t n = 0, i = 0;
  const char *v = head_get(x, "content-type", &n);
  if (v == NULL) return 0;
  while (i < n && v[i] != ';') i++;
  while (i > 0 && is_sp(v[i - 1])) i--;
  return ieq(v, i, "text/event-stream");
}

static void head_complete(xfer *x) {
  x->head_done = 1;
  if (x->want_sse && x->status >= 200 && x->status < 300 && is_event_stream(x)) {
    x->is_sse = 1;
    exa_sse_init(&x->sse, x->max_line, x->max_event);
  }
}

static long parse_status(const char *b, size_t n) {
  size_t i = 0;
  long s = 0;
  int digits = 0;
  while (i < n && b[i] != ' ') i++;
  while (i < n && b[i] == ' ') i++;
  for (; i < n && b[i] >= '0' && b[i] <= '9' && digits < 3; i++, digits++) s = s * 10 + (b[i] - '0');
  return digits == 3 ? s : 0;
}

static size_t on_header(char *b, size_t size, size_t nitems, void *ud) {
  xfer *x = (xfer *)ud;
  size_t n = size * nitems, len = n, i;
  x->last_ms = now_ms();
  if (x->head_done) return n; /* trailers */
  if (n >= 5 && memcmp(b, "HTTP/", 5) == 0) { /* a new response: forget any interim one */
    x->hdrs.len = 0;
    x->in_head = 1;
    x->status = parse_status(b, n);
    return n;
  }
  if (!x->in_head) return n;
  while (len > 0 && (b[len - 1] == '\r' || b[len - 1] == '\n')) len--;
  if (len == 0) { /* end of this head */
    long code = 0;
    x->in_head = 0;
    if (x->status == 0 && curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK)
      x->status = code;
    if (x->status >= 100 && x->status < 200 && x->status != 101) {
      x->hdrs.len = 0; /* 100 Continue, 103 Early Hints: the real one follows */
      return n;
    }
    head_complete(x);
    return n;
  }
  if (x->hdrs.len + len + 3 > MAX_HEAD_BYTES) {
    fail(x, EK_TOO_LARGE, -1, "response headers exceed %lu bytes", (unsigned long)MAX_HEAD_BYTES);
    return 0;
  }
  if (is_sp(b[0])) { /* obsolete line folding: continues the last value */
    for (i = 0; i < len && is_sp(b[i]); i++) {}
    if (x->hdrs.len == 0) return n;
    x->hdrs.len--; /* drop the value's terminator */
    if (buf_add(&x->hdrs, " ", 1) || buf_add(&x->hdrs, b + i, len - i) || buf_add(&x->hdrs, "", 1))
      goto nomem;
    return n;
  } else {
    const char *colon = (const char *)memchr(b, ':', len);
    size_t nl, vs, ve;
    if (colon == NULL || colon == b) return n; /* not a header line: ignore it */
    nl = (size_t)(colon - b);
    for (vs = nl + 1; vs < len && is_sp(b[vs]); vs++) {}
    for (ve = len; ve > vs && is_sp(b[ve - 1]); ve--) {}
    for (i = 0; i < nl; i++) b[i] = lower(b[i]);
    while (nl > 0 && is_sp(b[nl - 1])) nl--;
    if (memchr(b, '\0', nl) || buf_add(&x->hdrs, b, nl) || buf_add(&x->hdrs, "", 1) ||
        buf_add(&x->hdrs, b + vs, ve - vs) || buf_add(&x->hdrs, "", 1))
      goto nomem;
    return n;
  }
nomem:
  fail(x, EK_TRANSPORT, -1, "out of memory reading response headers");
  return 0;
}

static int on_event(void *ud, const exa_sse_event *ev) {
  xfer *x = (xfer *)ud;
  ev_node *e = (ev_node *)malloc(sizeof(ev_node) + ev->type_len + ev->data_len + ev->id_len);
  if (e == NULL) {
    fail(x, EK_SSE, -1, "out of memory queueing an event");
    return 1;
  }
  e->next = NULL;
  e->type_len = ev->type_len;
  e->data_len = ev->data_len;
  e->id_len = ev->id_len;
  e->retry = ev->retry;
  memcpy(e->bytes, ev->type, ev->type_len); /* the framer's strings are never NULL */
  memcpy(e->bytes + e->type_len, ev->data, ev->data_len);
  memcpy(e->bytes + e->type_len + e->data_len, ev->id, ev->id_len);
  if (x->qtail) x->qtail->next = e;
  else x->qhead = e;
  x->qtail = e;
  x->queued += node_size(e);
  if (x->queued > x->queued_peak) x->queued_peak = x->queued;
  return 0;
}

static size_t on_write(char *b, size_t size, size_t nmemb, void *ud) {
  xfer *x = (xfer *)ud;
  size_t n = size * nmemb;
  if (n == 0) return 0;
  if (x->is_sse) {
    int rc;
    if (x->queued >= x->max_queued) { /* the reader is behind: hold the bytes in curl */
      if (!x->paused) x->npaused++;
      x->paused = 1;
      return CURL_WRITEFUNC_PAUSE;
    }
    x->last_ms = now_ms();
    rc = exa_sse_feed(&x->sse, b, n, on_event, x);
    if (rc != EXA_SSE_OK) {
      fail(x, EK_SSE, -1, "event stream: %s", exa_sse_strerror(rc));
      return 0;
    }
    return n;
  }
  x->last_ms = now_ms();
  if (n > x->max_body - x->body.len) {
    fail(x, EK_TOO_LARGE, -1, "response body exceeds max_body (%lu bytes)",
         (unsigned long)x->max_body);
    return 0;
  }
  if (buf_add(&x->body, b, n)) {
    fail(x, EK_TRANSPORT, -1, "out of memory buffering the response body");
    return 0;
  }
  return n;
}

/* ---- transfer lifecycle (no Lua) ------------------------------------- */

static void snapshot_info(xfer *x) {
  long v = 0;
  double d = 0;
  curl_off_t o = 0;
  char *u = NULL;
  if (x->easy == NULL) return;
  if (curl_easy_getinfo(x->easy, CURLINFO_HTTP_VERSION, &v) == CURLE_OK) x->http_version = v;
  if (curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &v) == CURLE_OK) x->num_connects = v;
  if (curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &d) == CURLE_OK) x->total_time = d;
  if (curl_easy_getinfo(x->easy, CURLINFO_SIZE_DOWNLOAD_T, &o) == CURLE_OK)
    x->size_download = o;
  if (curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &u) == CURLE_OK && u != NULL &&
      (x->eff_url == NULL || strcmp(x->eff_url, u) != 0)) {
    size_t n = strlen(u) + 1;
    char *c = (char *)malloc(n);
    if (c != NULL) {
      memcpy(c, u, n);
      free(x->eff_url);
      x->eff_url = c;
    }
  }
}

static void unlink_xfer(xfer *x) {
  multi *m = x->m;
  if (m == NULL) return;
  if (x->prev) x->prev->next = x->next;
  else m->head = x->next;
  if (x->next) x->next->prev = x->prev;
  x->prev = x->next = NULL;
  x->m = NULL;
}

/* Take the easy handle off the multi (closing its connection if the transfer
 * did not complete), remember its info, and give it back to the pool. */
static void release_easy(xfer *x) {
  CURL *e = x->easy;
  multi *m = x->m;
  curl_slist_free_all(x->req_headers);
  x->req_headers = NULL;
  if (e == NULL) return;
  snapshot_info(x);
  if (m != NULL && m->cm != NULL) curl_multi_remove_handle(m->cm, e);
  x->easy = NULL;
  if (m != NULL && m->cm != NULL && m->npool < POOL_MAX) {
    curl_easy_reset(e);
    m->pool[m->npool++] = e;
  } else {
    curl_easy_cleanup(e);
  }
}

/* Nothing more will arrive: free what only the running transfer needs (an
 * unterminated block in the framer is discarded with it). */
static void complete(xfer *x) {
  x->done = 1;
  x->paused = 0;
  release_easy(x);
  unlink_xfer(x);
  exa_sse_free(&x->sse); /* idempotent; a no-op on the zeroed framer of a plain body */
}

static void free_queue(xfer *x) {
  ev_node *e = x->qhead;
  while (e) {
    ev_node *nx = e->next;
    free(e);
    e = nx;
  }
  x->qhead = x->qtail = NULL;
  x->queued = 0;
}

/* ---- driving the multi ------------------------------------------------ */

static void collect_done(multi *m) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(m->cm, &left)) != NULL) {
    char *priv = NULL;
    xfer *x;
    if (msg->msg != CURLMSG_DONE) continue;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
    x = (xfer *)(void *)priv;
    if (x == NULL || x->easy != msg->easy_handle) continue;
    if (msg->data.result != CURLE_OK) fail_curl(x, msg->data.result);
    else if (!x->head_done) fail(x, EK_TRANSPORT, -1, "the response ended before its headers");
    complete(x);
  }
}

static void check_idle(multi *m, long long now) {
  xfer *x = m->head, *nx;
  for (; x; x = nx) {
    nx = x->next;
    if (x->idle_ms > 0 && x->started && !x->paused && now - x->last_ms >= x->idle_ms) {
      fail(x, EK_TIMEOUT, -1, "no data received for %ld ms (idle_timeout)", x->idle_ms);
      complete(x);
    }
  }
}

/* One round: let curl move every transfer, then reap what finished. */
static void step(multi *m) {
  int running = 0;
  long long t = now_ms();
  xfer *x;
  if (m->cm == NULL) return;
  for (x = m->head; x; x = x->next)
    if (!x->started) {
      x->started = 1;
      x->last_ms = t;
    }
  curl_multi_perform(m->cm, &running);
  collect_done(m);
  check_idle(m, now_ms());
}

/* Sleep until a socket is ready, curl wants a timeout handled, an idle
 * deadline falls, or the caller's deadline (-1: none) passes. */
static void sleep_on(multi *m, long long deadline) {
  long tmo = -1;
  long long now = now_ms();
  xfer *x;
  if (m->cm == NULL) return;
  curl_multi_timeout(m->cm, &tmo);
  if (tmo < 0 || tmo > POLL_CAP_MS) tmo = POLL_CAP_MS;
  for (x = m->head; x; x = x->next)
    if (x->idle_ms > 0 && !x->paused) {
      long long rem = x->last_ms + x->idle_ms - now;
      if (rem < tmo) tmo = rem < 0 ? 0 : (long)rem;
    }
  if (deadline >= 0 && deadline - now < tmo) tmo = deadline - now < 0 ? 0 : (long)(deadline - now);
  if (tmo > 0) curl_multi_poll(m->cm, NULL, 0, (int)tmo, NULL);
}

typedef int (*ready_fn)(const xfer *x);
static int head_ready(const xfer *x) { return x->head_done || x->done; }
static int event_ready(const xfer *x) { return x->qhead != NULL || x->done || (x->head_done && !x->is_sse); }
static int done_ready(const xfer *x) { return x->done; }

/* Drive x's multi until ready(x) or the deadline (-1: none).  1: ready. */
static int wait_for(xfer *x, ready_fn ready, long long deadline) {
  for (;;) {
    if (ready(x)) return 1;
    if (x->m == NULL) return 1; /* cannot happen: a detached transfer is done */
    step(x->m);
    if (ready(x)) return 1;
    if (deadline >= 0 && now_ms() >= deadline) return 0;
    sleep_on(x->m, deadline);
  }
}

/* The reader drained: let a paused stream flow again. */
static void maybe_resume(xfer *x) {
  CURLcode rc;
  if (!x->paused || x->easy == NULL || x->queued > x->max_queued / 2) return;
  x->paused = 0;
  x->last_ms = now_ms();
  rc = curl_easy_pause(x->easy, CURLPAUSE_CONT); /* may run on_write right here */
  if (rc != CURLE_OK) {
    fail_curl(x, rc);
    complete(x);
  }
}

/* ---- Lua side --------------------------------------------------------- */

static multi *check_multi(lua_State *L, int i) { return (multi *)luaL_checkudata(L, i, MULTI_MT); }

static xfer *check_xfer(lua_State *L, int i) {
  xfer *x = (xfer *)luaL_checkudata(L, i, XFER_MT);
  if (x->closed) luaL_error(L, "exa.transfer: used after close()");
  return x;
}

/* wait_ms at index i -> absolute deadline, or -1 for none */
static long long opt_deadline(lua_State *L, int i) {
  lua_Number w;
  if (lua_isnoneornil(L, i)) return -1;
  w = luaL_checknumber(L, i);
  if (!(w >= 0)) luaL_argerror(L, i, "wait_ms must be >= 0");
  if (w > 1e12) return -1;
  return now_ms() + (long long)w;
}

/* nil, {kind=, code= (when >= 0), message=} */
static int ret_error(lua_State *L, const char *kind, long code, const char *msg) {
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

static int ret_err(lua_State *L, const xfer *x) { return ret_error(L, kind_names[x->ek], x->ecode, x->emsg); }
static int ret_misuse(lua_State *L, const char *msg) { return ret_error(L, "sse", -1, msg); }

static void push_headers(lua_State *L, const xfer *x) {
  const char *p = x->hdrs.p, *end = p + x->hdrs.len;
  lua_newtable(L);
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

/* t:headers([wait_ms]) -> status, headers | nil, err | false */
static int t_headers(lua_State *L) {
  xfer *x = check_xfer(L, 1);
  long long deadline = opt_deadline(L, 2);
  if (!wait_for(x, head_ready, deadline)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (!x->head_done) return ret_err(L, x);
  lua_pushinteger(L, (lua_Integer)x->status);
  push_headers(L, x);
  return 2;
}

/* t:next_event([wait_ms]) -> event | nil (clean end) | nil, err | false */
static int t_next_event(lua_State *L) {
  xfer *x = check_xfer(L, 1);
  long long deadline = opt_deadline(L, 2);
  ev_node *e;
  exa_sse_event ev;
  if (!x->want_sse) return ret_misuse(L, "next_event: the request was not made with sse = true");
  if (!wait_for(x, event_ready, deadline)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  e = x->qhead;
  if (e == NULL) {
    if (x->ek != EK_NONE) return ret_err(L, x);
    if (x->head_done && !x->is_sse) {
      char msg[256];
      size_t n = 0;
      const char *ct = head_get(x, "content-type", &n);
      snprintf(msg, sizeof msg,
               "next_event: the response is not an event stream (status %ld, content-type %.80s); "
               "read it with finish()",
               x->status, ct ? ct : "none");
      return ret_misuse(L, msg);
    }
    lua_pushnil(L); /* the stream ended cleanly */
    return 1;
  }
  /* build the table first: if Lua runs out of memory the event stays queued */
  ev.type = e->bytes;
  ev.type_len = e->type_len;
  ev.data = e->bytes + e->type_len;
  ev.data_len = e->data_len;
  ev.id = e->bytes + e->type_len + e->data_len;
  ev.id_len = e->id_len;
  ev.retry = e->retry;
  exa_push_event_keys(L);
  exa_push_event(L, lua_gettop(L) - 3, &ev);
  x->qhead = e->next;
  if (x->qhead == NULL) x->qtail = NULL;
  x->queued -= node_size(e);
  free(e);
  maybe_resume(x);
  return 1;
}

/* t:finish([wait_ms]) -> {status=, headers=, body=} | nil, err | false */
static int t_finish(lua_State *L) {
  xfer *x = check_xfer(L, 1);
  long long deadline = opt_deadline(L, 2);
  if (!wait_for(x, head_ready, deadline)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (x->is_sse && (x->ek == EK_NONE || x->qhead != NULL))
    return ret_misuse(L, "finish: the response is an event stream; read it with next_event()");
  if (!wait_for(x, done_ready, deadline)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (x->ek != EK_NONE) return ret_err(L, x);
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)x->status);
  lua_setfield(L, -2, "status");
  push_headers(L, x);
  lua_setfield(L, -2, "headers");
  if (!x->is_sse) {
    lua_pushlstring(L, x->body.p ? x->body.p : "", x->body.len);
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
  xfer *x = check_xfer(L, 1);
  const char *ver;
  snapshot_info(x);
  lua_createtable(L, 0, 8);
  lua_pushinteger(L, (lua_Integer)x->status);
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
  lua_pushinteger(L, (lua_Integer)x->queued_peak);
  lua_setfield(L, -2, "queued_peak");
  lua_pushinteger(L, (lua_Integer)x->queued);
  lua_setfield(L, -2, "queued");
  lua_pushinteger(L, (lua_Integer)x->npaused);
  lua_setfield(L, -2, "paused");
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
  xfer *x = (xfer *)luaL_checkudata(L, 1, XFER_MT);
  if (x->closed) return 0;
  x->closed = 1;
  complete(x);
  free_queue(x);
  buf_free(&x->body);
  buf_free(&x->hdrs);
  free(x->eff_url);
  x->eff_url = NULL;
  if (x->mref != LUA_NOREF && x->mref != LUA_REFNIL) {
    luaL_unref(L, LUA_REGISTRYINDEX, x->mref);
    x->mref = LUA_NOREF;
  }
  return 0;
}

static int t_tostring(lua_State *L) {
  xfer *x = (xfer *)luaL_checkudata(L, 1, XFER_MT);
  lua_pushfstring(L, "exa.transfer (%s): %p",
                  x->closed ? "closed" : x->done ? "done" : "running", (void *)x);
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
 * absent, else a number from 0 to max (max_s: max as written); else raises. */
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
  if (!isnum || !(v >= 0) || v > max) luaL_error(L, "%s.%s must be a number from 0 to %s", what, k, max_s);
  return v;
}

/* A duration in ms, or a count; absent: dflt. */
static long opt_long_field(lua_State *L, int t, const char *what, const char *k, long dflt) {
  lua_Number v = opt_num_field(L, t, what, k, 2e9, "2e9");
  return v < 0 ? dflt : (long)v;
}

/* A byte bound of the request spec; absent or 0: dflt. */
static size_t opt_size_field(lua_State *L, const char *k, size_t dflt) {
  lua_Number v = opt_num_field(L, 2, "request: spec", k, 4e15, "4e15");
  return v <= 0 ? dflt : (size_t)v;
}

static int is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int m_request(lua_State *L) {
  multi *m = check_multi(L, 1);
  const char *method, *url, *body, *ca_file, *p;
  size_t body_len = 0;
  long timeout, connect_timeout, idle;
  int want_sse;
  size_t max_line, max_event, max_body, max_queued;
  xfer *x;
  CURL *e;
  CURLcode rc = CURLE_OK;
  luaL_checktype(L, 2, LUA_TTABLE);
  if (m->cm == NULL) return luaL_error(L, "exa.multi: request() after close()");
  method = opt_string_field(L, 2, "method", 1);
  for (p = method; *p; p++)
    if (!is_tchar(*p)) break;
  if (*p || p == method) return luaL_error(L, "request: spec.method '%s' is not an HTTP method", method);
  url = opt_string_field(L, 2, "url", 1);
  lua_getfield(L, 2, "body");
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
    return luaL_error(L, "request: spec.body must be a string");
  body = lua_tolstring(L, -1, &body_len); /* stays on the stack */
  ca_file = opt_string_field(L, 2, "ca_file", 0);
  timeout = opt_long_field(L, 2, "request: spec", "timeout", 0);
  connect_timeout = opt_long_field(L, 2, "request: spec", "connect_timeout", DEFAULT_CONNECT_TIMEOUT_MS);
  idle = opt_long_field(L, 2, "request: spec", "idle_timeout", 0);
  lua_getfield(L, 2, "sse");
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TBOOLEAN)
    return luaL_error(L, "request: spec.sse must be a boolean");
  want_sse = lua_toboolean(L, -1);
  lua_pop(L, 1);
  max_line = opt_size_field(L, "max_line", 0);
  max_event = opt_size_field(L, "max_event", 0);
  max_body = opt_size_field(L, "max_body", DEFAULT_MAX_BODY);
  max_queued = opt_size_field(L, "max_queued", DEFAULT_MAX_QUEUED);

  x = (xfer *)lua_newuserdatauv(L, sizeof(xfer), 0);
  memset(x, 0, sizeof *x);
  x->mref = LUA_NOREF;
  x->ecode = -1;
  x->want_sse = want_sse;
  x->max_line = max_line;
  x->max_event = max_event;
  x->max_body = max_body;
  x->max_queued = max_queued;
  x->idle_ms = idle;
  luaL_setmetatable(L, XFER_MT); /* from here on __gc frees whatever is attached */

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
      if (lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "request: spec.headers[%d] must be a string", (int)i);
      h = lua_tolstring(L, -1, &hl);
      /* "Name: value"; curl's "Name:" (drop a default header) and "Name;" (send it empty) */
      if (strlen(h) != hl || strpbrk(h, "\r\n") != NULL || strpbrk(h, ":;") == NULL)
        return luaL_error(L, "request: spec.headers[%d] must be one \"Name: value\" line", (int)i);
      sl = curl_slist_append(x->req_headers, h);
      if (sl == NULL) return luaL_error(L, "request: out of memory");
      x->req_headers = sl;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);

  lua_pushvalue(L, 1);
  x->mref = luaL_ref(L, LUA_REGISTRYINDEX);

  if (m->npool > 0) e = m->pool[--m->npool];
  else e = curl_easy_init();
  if (e == NULL) {
    fail(x, EK_TRANSPORT, -1, "curl_easy_init failed");
    complete(x);
    return 1;
  }
  x->easy = e;
#define SET(opt, val) \
  if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val)
  SET(CURLOPT_PRIVATE, (void *)x);
  SET(CURLOPT_ERRORBUFFER, x->errbuf);
  SET(CURLOPT_URL, url);
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_TCP_NODELAY, 1L);
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  SET(CURLOPT_ACCEPT_ENCODING, "");
  SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  /* PIPEWAIT only where ALPN can say "h2": over plain http libcurl 7.88 parks
   * a second transfer behind a running HTTP/1.1 one until that one ends
   * (a concurrent GET would wait for a whole stream). */
  if (strlen(url) > 8 && ieq(url, 8, "https://")) SET(CURLOPT_PIPEWAIT, 1L);
  SET(CURLOPT_SSL_VERIFYPEER, 1L);
  SET(CURLOPT_SSL_VERIFYHOST, 2L);
  SET(CURLOPT_FOLLOWLOCATION, 0L);
  SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  SET(CURLOPT_CONNECTTIMEOUT_MS, connect_timeout);
  SET(CURLOPT_TIMEOUT_MS, timeout);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, (void *)x);
  SET(CURLOPT_WRITEFUNCTION, on_write);
  SET(CURLOPT_WRITEDATA, (void *)x);
  if (ca_file) SET(CURLOPT_CAINFO, ca_file);
  if (x->req_headers) SET(CURLOPT_HTTPHEADER, x->req_headers);
  if (strcmp(method, "GET") == 0 && body == NULL) {
    SET(CURLOPT_HTTPGET, 1L);
  } else if (strcmp(method, "HEAD") == 0) {
    SET(CURLOPT_NOBODY, 1L);
  } else {
    if (strcmp(method, "POST") == 0 || body != NULL) {
      SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
      SET(CURLOPT_COPYPOSTFIELDS, body ? body : "");
    }
    if (strcmp(method, "POST") != 0) SET(CURLOPT_CUSTOMREQUEST, method);
  }
#undef SET
  if (rc != CURLE_OK) fail_curl(x, rc);
  else if (curl_multi_add_handle(m->cm, e) != CURLM_OK) fail(x, EK_TRANSPORT, -1, "curl_multi_add_handle failed");
  if (x->ek != EK_NONE) { /* it ends before it started: an error value, like any other failure */
    complete(x);
    return 1;
  }
  x->m = m;
  x->next = m->head;
  if (m->head) m->head->prev = x;
  m->head = x;
  return 1;
}

/* ---- the multi -------------------------------------------------------- */

/* core.multi([opts]) */
static int l_multi(lua_State *L) {
  long host = 0, total = 0;
  multi *m;
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTABLE);
    host = opt_long_field(L, 1, "multi: opts", "max_host_connections", 0);
    total = opt_long_field(L, 1, "multi: opts", "max_total_connections", 0);
  }
  m = (multi *)lua_newuserdatauv(L, sizeof(multi), 0);
  memset(m, 0, sizeof *m);
  luaL_setmetatable(L, MULTI_MT);
  m->cm = curl_multi_init();
  if (m->cm == NULL) return luaL_error(L, "curl_multi_init failed");
  curl_multi_setopt(m->cm, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  if (host > 0) curl_multi_setopt(m->cm, CURLMOPT_MAX_HOST_CONNECTIONS, host);
  if (total > 0) curl_multi_setopt(m->cm, CURLMOPT_MAX_TOTAL_CONNECTIONS, total);
  return 1;
}

/* m:perform([wait_ms]) -> transfers still running */
static int m_perform(lua_State *L) {
  multi *m = check_multi(L, 1);
  long long deadline = opt_deadline(L, 2);
  int n = 0;
  xfer *x;
  if (m->cm == NULL) return luaL_error(L, "exa.multi: perform() after close()");
  step(m);
  if (m->head != NULL && deadline > now_ms()) {
    sleep_on(m, deadline);
    step(m);
  }
  for (x = m->head; x; x = x->next) n++;
  lua_pushinteger(L, n);
  return 1;
}

/* m:close(): idempotent; also __gc and __close.  Running transfers end with
 * a "closed" error; finished ones keep their results. */
static int m_close(lua_State *L) {
  multi *m = (multi *)luaL_checkudata(L, 1, MULTI_MT);
  CURLM *cm = m->cm;
  if (cm == NULL) return 0;
  while (m->head) {
    xfer *x = m->head;
    fail(x, EK_CLOSED, -1, "client closed");
    complete(x); /* unlinks x */
  }
  m->cm = NULL; /* handles released from now on are cleaned up, not pooled */
  while (m->npool > 0) curl_easy_cleanup(m->pool[--m->npool]);
  curl_multi_cleanup(cm);
  return 0;
}

static int m_tostring(lua_State *L) {
  multi *m = (multi *)luaL_checkudata(L, 1, MULTI_MT);
  lua_pushfstring(L, "exa.multi (%s): %p", m->cm ? "open" : "closed", (void *)m);
  return 1;
}

static const luaL_Reg multi_methods[] = {
    {"request", m_request}, {"perform", m_perform}, {"close", m_close}, {NULL, NULL}};
static const luaL_Reg xfer_methods[] = {{"headers", t_headers}, {"next_event", t_next_event},
                                        {"finish", t_finish},   {"info", t_info},
                                        {"close", t_close},     {NULL, NULL}};

void exa_open_http(lua_State *L) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  exa_new_type(L, MULTI_MT, multi_methods, m_close, m_tostring);
  exa_new_type(L, XFER_MT, xfer_methods, t_close, t_tostring);
  lua_pushcfunction(L, l_multi);
  lua_setfield(L, -2, "multi");
}
