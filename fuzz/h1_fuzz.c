/*
 * h1_fuzz.c - libFuzzer target for h1.c (the HTTP/1 response reader): the
 * bytes a server sends, fed whole, in random pieces and one byte at a time,
 * then the end of the connection.  Every way must give the same status,
 * events (type, data, id, has_id), body, error (kind and message), end,
 * partial flag and keep-alive decision; the event queue is drained after
 * every piece, as the ngx backend does.  Any difference traps.
 *
 * Input: 2 header bytes, then the response.  [0] picks want_sse, a HEAD
 * request, max_body and max_line/max_event; [1] seeds the chunking.
 *
 *   fuzz/run.sh [seconds] h1
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct out {
  exa_buf log; /* everything observable, serialized */
} out;

static void require(int ok) {
  if (!ok) __builtin_trap();
}

static void logs(out *o, const char *s, size_t n) {
  require(exa_buf_add(&o->log, s, n) == 0);
  require(exa_buf_add(&o->log, "\x1f", 1) == 0);
}

static void logn(out *o, long v) {
  char b[32];
  size_t i = sizeof b;
  unsigned long u = v < 0 ? (unsigned long)(-(v + 1)) + 1 : (unsigned long)v;
  do {
    b[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) b[--i] = '-';
  logs(o, b + i, sizeof b - i);
}

static void drain(exa_resp *r, out *o) {
  const exa_ev *e;
  while ((e = exa_resp_peek(r)) != NULL) {
    exa_sse_event ev;
    exa_ev_view(e, &ev);
    logs(o, ev.type, ev.type_len);
    logs(o, ev.data, ev.data_len);
    logs(o, ev.id, ev.id_len);
    logn(o, ev.has_id);
    exa_resp_drop(r);
  }
}

static unsigned next(unsigned *s) {
  *s = *s * 1103515245u + 12345u;
  return (*s >> 16) & 0x7fff;
}

/* mode 0: whole; 1: random pieces; 2: bytes */
static void run(const char *s, size_t n, const exa_resp_cfg *c, int is_head, int mode, unsigned seed, out *o) {
  exa_resp r;
  exa_h1 h;
  size_t i = 0;
  int rc = EXA_RESP_OK;
  exa_resp_init(&r, c);
  r.cfg.max_queued = (size_t)-1;
  exa_h1_init(&h, &r, 1, is_head);
  o->log.len = 0;
  while (i < n && rc == EXA_RESP_OK) {
    size_t k = mode == 0 ? n - i : mode == 2 ? 1 : 1 + next(&seed) % 97;
    if (k > n - i) k = n - i;
    rc = exa_h1_feed(&h, s + i, k);
    require(rc != EXA_RESP_PAUSE);
    drain(&r, o);
    i += k;
  }
  if (rc == EXA_RESP_OK) {
    int e = exa_h1_eof(&h);
    require((e == 0) == (r.ek == EXA_EK_NONE));
  }
  drain(&r, o);
  /* invariants */
  require(r.ek != EXA_EK_NONE || exa_h1_done(&h));
  require(!exa_h1_keepalive(&h) || (exa_h1_done(&h) && r.ek == EXA_EK_NONE));
  require(r.ek == EXA_EK_NONE || exa_h1_want(&h) == 0);
  require(r.head_bytes <= EXA_RESP_MAX_HEAD);
  require(r.body.len <= r.cfg.max_body);
  require(r.ek != EXA_EK_NONE || !r.head_done || (r.status >= 100 && r.status <= 599));
  logn(o, r.ek);
  logs(o, r.emsg, strlen(r.emsg));
  logn(o, r.head_done ? r.status : 0);
  logn(o, r.partial);
  logn(o, exa_h1_keepalive(&h));
  if (r.ek == EXA_EK_NONE) logs(o, r.body.p ? r.body.p : "", r.body.len); /* a failed body is cut anywhere */
  exa_h1_free(&h);
  exa_resp_free(&r);
}

static const size_t lines[4] = {0, 1, 16, 1024};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static out a, b;
  exa_resp_cfg c;
  const char *s = (const char *)data + 2;
  size_t n;
  unsigned cfg, seed;
  int is_head;
  if (size < 2) return 0;
  n = size - 2;
  cfg = data[0];
  seed = (unsigned)data[1] + 1;
  memset(&c, 0, sizeof c);
  c.want_sse = cfg & 1;
  is_head = (cfg >> 1) & 1;
  c.max_body = (cfg & 4) ? 16 : 0;
  c.max_line = lines[(cfg >> 3) & 3];
  c.max_event = lines[(cfg >> 5) & 3];
  run(s, n, &c, is_head, 0, 0, &a);
  run(s, n, &c, is_head, 1, seed, &b);
  require(a.log.len == b.log.len && memcmp(a.log.p, b.log.p, a.log.len) == 0);
  if (n <= 2048) {
    run(s, n, &c, is_head, 2, 0, &b);
    require(a.log.len == b.log.len && memcmp(a.log.p, b.log.p, a.log.len) == 0);
  }
  return 0;
}
