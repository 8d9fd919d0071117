/*
 * resp.h - one HTTP response as the client reads it, with no curl and no Lua:
 *
 *   head   the status line and header lines, one line per call as they arrive
 *          (interim 1xx responses are read and forgotten; obsolete line
 *          folding is unfolded; names lower-cased; every head line, interim
 *          ones included, counts against EXA_RESP_MAX_HEAD)
 *   body   buffered whole, bounded by max_body, or, for an event stream that
 *          was asked for (want_sse, a 2xx text/event-stream answer), framed by
 *          sse.c into a queue of complete events with byte accounting: past
 *          max_queued bytes the body is refused (EXA_RESP_PAUSE) until the
 *          reader drains the queue below half of it
 *   error  the first failure wins and sticks: {kind, code, message}
 *
 * The driver (driver.c) feeds it from curl's callbacks; the fuzz target feeds
 * it bytes directly.  Nothing here blocks, and nothing calls back out.
 */
#ifndef EXA_RESP_H
#define EXA_RESP_H

#include <stddef.h>
#include <string.h>

#include "sse.h"

#define EXA_RESP_MAX_HEAD ((size_t)256 << 10) /* every head line of one response, 1xx included */
#define EXA_RESP_DEFAULT_MAX_BODY ((size_t)64 << 20)
#define EXA_RESP_DEFAULT_MAX_QUEUED ((size_t)1 << 20)

/* Failure kinds; exa_kind_name() gives the names the Lua side sees. */
enum {
  EXA_EK_NONE = 0,
  EXA_EK_TIMEOUT,
  EXA_EK_CONNECT,
  EXA_EK_DNS,
  EXA_EK_TLS,
  EXA_EK_TRANSPORT,
  EXA_EK_TOO_LARGE,
  EXA_EK_SSE,
  EXA_EK_CLOSED
};
const char *exa_kind_name(int kind);

/* exa_resp_body's answers */
enum { EXA_RESP_OK = 0, EXA_RESP_PAUSE, EXA_RESP_FAIL };

typedef struct exa_buf {
  char *p;
  size_t len, cap;
} exa_buf;

int exa_buf_add(exa_buf *b, const char *s, size_t n); /* 0, or -1: out of memory */
void exa_buf_free(exa_buf *b);

/* One complete event: its three strings live right after the node. */
typedef struct exa_ev {
  struct exa_ev *next;
  size_t type_len, data_len, id_len;
  long retry;
  int has_id;
  char bytes[]; /* type, data, id: back to back */
} exa_ev;

typedef struct exa_resp_cfg {
  int want_sse;
  size_t max_line, max_event;  /* 0: the framer's defaults */
  size_t max_body, max_queued; /* 0: the defaults above */
  int h1_only;                 /* the connection speaks HTTP/1 only: a status line must say HTTP/1.x */
} exa_resp_cfg;

typedef struct exa_resp {
  exa_resp_cfg cfg;
  /* the head */
  int in_head;       /* between a status line and its blank line */
  int head_done;     /* the final (non-1xx) head is complete */
  long status;
  size_t head_bytes; /* every head line so far */
  unsigned interim;  /* 1xx heads skipped */
  exa_buf hdrs;      /* "name\0value\0" pairs of the response in progress */
  /* the body */
  int is_sse;
  exa_buf body;
  exa_sse sse;
  exa_ev *qhead, *qtail;
  size_t queued, queued_peak; /* bytes of queued events (node + strings) */
  unsigned long nevents;      /* events queued so far */
  int ended;                  /* exa_resp_end ran: the body is complete */
  int partial;                /* ... and the framer dropped an unterminated line or block */
  /* the first failure */
  int ek;
  long ecode; /* a curl code, or -1 */
  char emsg[512];
} exa_resp;

void exa_resp_init(exa_resp *r, const exa_resp_cfg *cfg);
void exa_resp_free(exa_resp *r); /* idempotent; keeps status, error and flags */

/* Record a failure unless one is recorded already (printf-style message). */
void exa_resp_fail(exa_resp *r, int kind, long code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* One head line as it arrived (a status line, a header line or the blank line
 * that ends a head; its CR LF may be there or not).  Lines after the final
 * head (trailers) are counted and ignored.  0, or -1 once the response failed:
 * too_large past EXA_RESP_MAX_HEAD; transport for a malformed status line (a
 * code of other than three digits 100-599, or not followed by SP), a header
 * line before any status line, a NUL byte in a header line, a line without a
 * colon or a name, whitespace before the colon, or a folded line with no
 * header before it in its head. */
int exa_resp_header(exa_resp *r, const char *line, size_t n);

/* Body bytes, any chunking.  EXA_RESP_OK: all taken.  EXA_RESP_PAUSE: the
 * event queue is full, nothing was taken (offer the same bytes again after
 * the reader drained it).  EXA_RESP_FAIL: r->ek says why. */
int exa_resp_body(exa_resp *r, const char *b, size_t n);

/* exa_resp_body without the queue check: every byte is taken (the queue may
 * pass max_queued by what these bytes frame).  EXA_RESP_OK or EXA_RESP_FAIL. */
int exa_resp_take(exa_resp *r, const char *b, size_t n);

/* The body ended cleanly: the framer ends (r->partial says whether it dropped
 * an unterminated line or block) and frees its buffers. */
void exa_resp_end(exa_resp *r);

/* ASCII helpers resp.c and h1.c share (locale-free, as HTTP wants). */
static inline char exa_ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }
static inline int exa_ascii_sp(char c) { return c == ' ' || c == '\t'; }
/* a[0..an) equals the C string b, ASCII case folded. */
static inline int exa_ascii_ieq(const char *a, size_t an, const char *b) {
  size_t i, bn = strlen(b);
  if (an != bn) return 0;
  for (i = 0; i < an; i++)
    if (exa_ascii_lower(a[i]) != exa_ascii_lower(b[i])) return 0;
  return 1;
}

/* The first header named name (lower case), or NULL. */
const char *exa_resp_header_get(const exa_resp *r, const char *name, size_t *vlen);

/* The next header named name (lower case) after *pos (start: *pos = NULL),
 * or NULL; *pos then moves past it (or to the end). */
const char *exa_resp_header_next(const exa_resp *r, const char *name, const char **pos, size_t *vlen);

/* The oldest queued event, or NULL; exa_resp_drop frees it. */
static inline const exa_ev *exa_resp_peek(const exa_resp *r) { return r->qhead; }
void exa_resp_drop(exa_resp *r);
/* A paused body may flow again: the queue is at most half full. */
int exa_resp_can_resume(const exa_resp *r);
/* The event's strings as the framer's event struct (pointers into e). */
void exa_ev_view(const exa_ev *e, exa_sse_event *ev);

#endif
