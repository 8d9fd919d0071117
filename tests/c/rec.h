/*
 * rec.h - record what a framer delivers as canonical byte strings, so two
 * runs (two chunkings; the framer and the reference) compare with memcmp.
 * Header-only (static inline) for the C tests and the fuzz target.
 */
#ifndef SSE_REC_H
#define SSE_REC_H

#include <stdlib.h>
#include <string.h>

#include "sse.h"

typedef struct rec_buf {
  char *b;
  size_t n, cap;
} rec_buf;

typedef struct rec {
  rec_buf ev;      /* events, then the end-of-stream record (rec_end) */
  rec_buf cm;      /* comments */
  size_t events, comments;
  int order;       /* record, with each comment, how many events preceded it */
  size_t stop_at;  /* > 0: the event callback asks to stop at that event */
  int extra;       /* also record has_id per event and partial at the end */
} rec;

static inline void rec_put(rec_buf *r, const void *p, size_t n) {
  if (r->n + n > r->cap) {
    r->cap = (r->n + n) * 2 + 64;
    r->b = (char *)realloc(r->b, r->cap);
    if (r->b == NULL) abort();
  }
  if (n) memcpy(r->b + r->n, p, n);
  r->n += n;
}

static inline void rec_str(rec_buf *r, char tag, const char *s, size_t n) {
  rec_put(r, &tag, 1);
  rec_put(r, &n, sizeof n);
  rec_put(r, s, n);
}

static inline int rec_event(void *ud, const exa_sse_event *ev) {
  rec *r = (rec *)ud;
  rec_str(&r->ev, 'T', ev->type, ev->type_len);
  rec_str(&r->ev, 'D', ev->data, ev->data_len);
  rec_str(&r->ev, 'I', ev->id, ev->id_len);
  rec_put(&r->ev, &ev->retry, sizeof ev->retry);
  if (r->extra) rec_put(&r->ev, ev->has_id ? "H" : "h", 1);
  r->events++;
  return r->stop_at > 0 && r->events == r->stop_at;
}

static inline void rec_comment(void *ud, const char *text, size_t len) {
  rec *r = (rec *)ud;
  if (r->order) rec_put(&r->cm, &r->events, sizeof r->events);
  rec_str(&r->cm, 'C', text, len);
  r->comments++;
}

/* The end of a run: the error (0 if none), last event id and retry; with
 * extra, whether the end was partial (only when there was no error). */
static inline void rec_end(rec *r, int rc, const char *last, size_t last_len, long retry, int partial) {
  rec_put(&r->ev, "E", 1);
  rec_put(&r->ev, &rc, sizeof rc);
  if (r->extra) rec_put(&r->ev, rc == 0 && partial ? "P" : "p", 1);
  rec_str(&r->ev, 'L', last, last_len);
  rec_put(&r->ev, &retry, sizeof retry);
}

static inline void rec_reset(rec *r) {
  r->ev.n = r->cm.n = 0;
  r->events = r->comments = 0;
}

static inline void rec_free(rec *r) {
  free(r->ev.b);
  free(r->cm.b);
  memset(r, 0, sizeof *r);
}

static inline int rec_buf_same(const rec_buf *a, const rec_buf *b) {
  return a->n == b->n && (a->n == 0 || memcmp(a->b, b->b, a->n) == 0);
}

static inline int rec_same(const rec *a, const rec *b) {
  return rec_buf_same(&a->ev, &b->ev) && rec_buf_same(&a->cm, &b->cm);
}

#endif
