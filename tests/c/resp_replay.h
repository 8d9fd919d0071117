/*
 * resp_replay.h - feed a whole HTTP response (the bytes a server sends) to
 * resp.c the way the driver does through curl: the head one line at a time
 * (split at LF, as curl hands them over), then the body (de-chunked when the
 * head says chunked) in chunks chosen by a mode, taking the queued events out
 * whenever resp.c refuses bytes (EXA_RESP_PAUSE) and offering them again.
 * What came out (each event with has_id, then error kind, status, partial)
 * is recorded with rec.h, so runs under different chunkings compare with
 * rec_same().  Header-only, for tests/c/resp_test.c and fuzz/resp_fuzz.c.
 */
#ifndef RESP_REPLAY_H
#define RESP_REPLAY_H

#include <stdlib.h>
#include <string.h>

#include "rec.h"
#include "resp.h"

/* chunking modes */
enum { REPLAY_WHOLE = 0, REPLAY_BYTES, REPLAY_RANDOM };

typedef struct replay_stats {
  int ok;            /* every invariant held */
  int ek;
  long status;
  int pauses;
  size_t body_bytes; /* body bytes offered (after de-chunking) */
} replay_stats;

/* A lenient chunked decoder: what a curl would hand on before failing. */
static inline char *replay_dechunk(const char *s, size_t n, size_t *out_len) {
  char *out = (char *)malloc(n + 1);
  size_t i = 0, o = 0;
  if (out == NULL) abort();
  while (i < n) {
    size_t size = 0, digits = 0;
    while (i < n) {
      char c = s[i];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) break;
      if (size > ((size_t)-1 >> 5)) { i = n; break; }
      size = size * 16 + (size_t)d;
      digits++;
      i++;
    }
    if (digits == 0) break;
    while (i < n && s[i] != '\n') i++; /* chunk extensions, CR */
    if (i >= n) break;
    i++;
    if (size == 0) break; /* the last chunk; trailers ignored */
    if (size > n - i) size = n - i;
    memcpy(out + o, s + i, size);
    o += size;
    i += size;
    while (i < n && s[i] != '\n') i++;
    if (i < n) i++;
  }
  *out_len = o;
  return out;
}

static inline void replay_drain(exa_resp *r, rec *out) {
  const exa_ev *e;
  while ((e = exa_resp_peek(r)) != NULL) {
    exa_sse_event ev;
    exa_ev_view(e, &ev);
    if (out) rec_event(out, &ev);
    exa_resp_drop(r);
  }
}

static inline int replay_is_chunked(const exa_resp *r) {
  size_t n = 0, i;
  const char *v = exa_resp_header_get(r, "transfer-encoding", &n);
  if (v == NULL) return 0;
  for (i = 0; i + 7 <= n; i++)
    if (strncmp(v + i, "chunked", 7) == 0) return 1;
  return 0;
}

/* Replay s[0..n) under cfg; record into out (reset first). */
static inline replay_stats replay(const char *s, size_t n, const exa_resp_cfg *cfg, int mode, unsigned seed,
                                  rec *out) {
  exa_resp r;
  replay_stats st;
  size_t i = 0, blen = 0, from = 0;
  char *dechunked = NULL;
  const char *body = NULL;
  unsigned x = seed * 2654435761u + 7;
  memset(&st, 0, sizeof st);
  st.ok = 1;
  rec_reset(out);
  exa_resp_init(&r, cfg);
  while (i < n && !r.head_done && r.ek == EXA_EK_NONE) {
    const char *nl = (const char *)memchr(s + i, '\n', n - i);
    size_t len;
    if (nl == NULL) break; /* a head cut short: curl never hands it over */
    len = (size_t)(nl - (s + i)) + 1;
    exa_resp_header(&r, s + i, len);
    i += len;
  }
  if (r.head_bytes > EXA_RESP_MAX_HEAD) st.ok = 0;
  if (r.head_done && r.ek == EXA_EK_NONE) {
    if (replay_is_chunked(&r)) {
      dechunked = replay_dechunk(s + i, n - i, &blen);
      body = dechunked;
    } else {
      body = s + i;
      blen = n - i;
    }
    st.body_bytes = blen;
    while (from < blen) {
      size_t k = blen - from;
      int rc;
      if (mode == REPLAY_BYTES) k = 1;
      else if (mode == REPLAY_RANDOM) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        k = 1 + x % (seed % 200 + 1);
        if (k > blen - from) k = blen - from;
      }
      rc = exa_resp_body(&r, body + from, k);
      if (rc == EXA_RESP_PAUSE) { /* the reader catches up, then the same bytes again */
        st.pauses++;
        if (r.qhead == NULL) { /* refusing with nothing to read would stall forever */
          st.ok = 0;
          break;
        }
        replay_drain(&r, out);
        if (!exa_resp_can_resume(&r)) st.ok = 0;
        continue;
      }
      if (rc == EXA_RESP_FAIL) {
        if (r.ek == EXA_EK_NONE) st.ok = 0; /* a failure always says why */
        break;
      }
      from += k;
    }
    if (r.ek == EXA_EK_NONE) exa_resp_end(&r);
  }
  replay_drain(&r, out);
  if (r.queued != 0 || r.qhead != NULL) st.ok = 0;
  if (!r.is_sse && r.ek == EXA_EK_NONE && r.head_done && r.body.len != blen) st.ok = 0;
  if (r.is_sse && (r.sse.line != NULL || r.sse.data != NULL) && r.ended) st.ok = 0; /* freed at the end */
  rec_put(&out->ev, "S", 1);
  rec_put(&out->ev, &r.status, sizeof r.status);
  rec_put(&out->ev, &r.ek, sizeof r.ek);
  rec_put(&out->ev, r.partial ? "P" : "p", 1);
  rec_put(&out->ev, r.is_sse ? "E" : "e", 1);
  if (!r.is_sse && r.ek == EXA_EK_NONE) rec_str(&out->ev, 'B', r.body.p ? r.body.p : "", r.body.len);
  st.ek = r.ek;
  st.status = r.status;
  exa_resp_free(&r);
  exa_resp_free(&r); /* idempotent */
  free(dechunked);
  return st;
}

#endif
