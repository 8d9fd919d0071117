/*
 * sse.h - an I/O-free server-sent events framer (WHATWG "event stream
 * interpretation").  It knows nothing about sockets or Lua: bytes go in
 * through exa_sse_feed(), complete events come out through a callback.
 *
 * Usage:
 *   exa_sse p;
 *   exa_sse_init(&p, max_line, max_event);      0 = default bound
 *   p.on_comment = fn;                           optional, after init
 *   rc = exa_sse_feed(&p, buf, n, on_event, ud); any chunking, any size
 *   partial = exa_sse_finish(&p);                end of stream: drop partial block (1 if any)
 *   exa_sse_free(&p);                            idempotent; init again to reuse
 *
 * Semantics, beyond the WHATWG text:
 *   - The last event id (exa_sse_last_id, and ev->id) is committed at each
 *     blank line, as a browser sets its EventSource's last event ID string at
 *     dispatch time.  An id line in a block that never ends (finish() before
 *     its blank line) is therefore dropped: it never becomes the last event id.
 *   - retry takes effect when its line is processed (WHATWG); a value that
 *     does not fit a long is ignored like any other bogus value.
 *   - max_line bounds every line (without its line end, after the BOM);
 *     max_event bounds an event's data as delivered (lines joined by "\n").
 *     Both are checked whatever the chunking, so the same bytes always give
 *     the same events and the same error at the same place.
 *   - finish() ends the stream: the partial line and block are dropped, and
 *     the next feed starts a new stream (a BOM is stripped again).  The last
 *     event id and retry carry over (they are what a reconnect needs).  A
 *     failed parser stays failed.  It returns 1 when something was dropped:
 *     an unterminated line (or the first bytes of a BOM), or a block that had
 *     a field line (data, event, id, retry or an unknown field; comments do
 *     not count) and no blank line yet.  A reader uses it to tell a stream
 *     that ended between events from one cut inside an event.
 *   - ev->has_id is 1 when the event's own block had an id field (an empty
 *     "id:" too: it resets the last event id to ""), 0 when ev->id is the id
 *     carried from an earlier block.
 *   - An error (a bound, ENOMEM, ESTOP) is sticky: every later feed returns
 *     it at once.  Events dispatched before the error were delivered.
 */
#ifndef EXA_SSE_H
#define EXA_SSE_H

#include <stddef.h>

#define EXA_SSE_DEFAULT_MAX_LINE ((size_t)16 << 20)  /* 16 MiB: longest line held */
#define EXA_SSE_DEFAULT_MAX_EVENT ((size_t)16 << 20) /* 16 MiB: largest data buffer */

enum {
  EXA_SSE_OK = 0,
  EXA_SSE_ELINE,   /* a line grew past max_line */
  EXA_SSE_EEVENT,  /* an event's data grew past max_event */
  EXA_SSE_ENOMEM,  /* allocation failed */
  EXA_SSE_ESTOP    /* the callback asked to stop */
};

/* One dispatched event.  Pointers are valid only during the callback.
 * type is "message" when the block had no (non-empty) event field; id is the
 * last event id after this dispatch (WHATWG semantics: carried across events). */
typedef struct exa_sse_event {
  const char *type;
  size_t type_len;
  const char *data;
  size_t data_len;
  const char *id;
  size_t id_len;
  long retry; /* reconnection time in ms after this dispatch, -1 if never set */
  int has_id; /* the block had its own id field */
} exa_sse_event;

/* Return 0 to go on, non-zero to abort: exa_sse_feed returns EXA_SSE_ESTOP at
 * once, the rest of that chunk is dropped and the parser is marked failed. */
typedef int (*exa_sse_event_cb)(void *ud, const exa_sse_event *ev);
/* Optional: a comment line (text after the ':' , leading space kept as sent). */
typedef void (*exa_sse_comment_cb)(void *ud, const char *text, size_t len);

typedef struct exa_sse {
  /* configuration */
  size_t max_line, max_event;
  exa_sse_comment_cb on_comment; /* may be NULL */
  /* state: private to sse.c (its owner may reshape it freely) */
  char *line;            /* the partial line carried from one chunk to the next */
  size_t line_len, line_cap;
  char *data;            /* the block's data lines, joined by "\n" */
  size_t data_len, data_cap;
  const char *borrow;    /* or: the block's one data line, still in the caller's chunk */
  int has_data;          /* the block had a data line (WHATWG: data buffer not empty) */
  char *type;
  size_t type_len, type_cap;
  char *id;              /* an id set in this block, committed at its blank line */
  size_t id_len, id_cap;
  int id_set;
  int block_open;        /* a field line since the last blank line */
  char *last_id;         /* the committed last event id */
  size_t last_id_len, last_id_cap;
  long retry;
  int bom;               /* 0..2: bytes of a leading BOM seen so far; 3: past the stream start */
  int after_cr;          /* the last byte fed was a CR: a LF next is part of that line end */
  int failed;            /* 0, or the sticky error code */
} exa_sse;

void exa_sse_init(exa_sse *p, size_t max_line, size_t max_event);
void exa_sse_free(exa_sse *p);
int exa_sse_feed(exa_sse *p, const char *buf, size_t n, exa_sse_event_cb cb, void *ud);
int exa_sse_finish(exa_sse *p);
const char *exa_sse_last_id(const exa_sse *p, size_t *len);
long exa_sse_retry(const exa_sse *p);
const char *exa_sse_strerror(int rc);

#endif
