/* resp.c - see resp.h.  No curl, no Lua: bytes in, state out. */
#include "resp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"none",      "timeout",   "connect", "dns",   "tls",
                                         "transport", "too_large", "sse",     "closed"};

const char *exa_kind_name(int kind) {
  if (kind < 0 || kind > EXA_EK_CLOSED) return "transport";
  return kind_names[kind];
}

int exa_buf_add(exa_buf *b, const char *s, size_t n) {
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

void exa_buf_free(exa_buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

void exa_resp_init(exa_resp *r, const exa_resp_cfg *cfg) {
  memset(r, 0, sizeof *r);
  r->cfg = *cfg;
  if (r->cfg.max_body == 0) r->cfg.max_body = EXA_RESP_DEFAULT_MAX_BODY;
  if (r->cfg.max_queued == 0) r->cfg.max_queued = EXA_RESP_DEFAULT_MAX_QUEUED;
  r->ecode = -1;
}

static size_t node_size(const exa_ev *e) { return sizeof(exa_ev) + e->type_len + e->data_len + e->id_len; }

void exa_resp_drop(exa_resp *r) {
  exa_ev *e = r->qhead;
  if (e == NULL) return;
  r->qhead = e->next;
  if (r->qhead == NULL) r->qtail = NULL;
  r->queued -= node_size(e);
  free(e);
}

void exa_resp_free(exa_resp *r) {
  while (r->qhead) exa_resp_drop(r);
  exa_buf_free(&r->hdrs);
  exa_buf_free(&r->body);
  exa_sse_free(&r->sse); /* idempotent; a no-op on the zeroed framer of a plain body */
}

void exa_resp_fail(exa_resp *r, int kind, long code, const char *fmt, ...) {
  va_list ap;
  if (r->ek != EXA_EK_NONE) return;
  r->ek = kind;
  r->ecode = code;
  va_start(ap, fmt);
  vsnprintf(r->emsg, sizeof r->emsg, fmt, ap);
  va_end(ap);
}

const char *exa_resp_header_next(const exa_resp *r, const char *name, const char **pos, size_t *vlen) {
  const char *p, *end;
  if (r->hdrs.p == NULL) return NULL; /* no header yet: no arithmetic on NULL */
  p = *pos ? *pos : r->hdrs.p;
  end = r->hdrs.p + r->hdrs.len;
  while (p < end) {
    const char *n = p, *v = n + strlen(n) + 1;
    p = v + strlen(v) + 1;
    if (strcmp(n, name) == 0) {
      *pos = p;
      *vlen = strlen(v);
      return v;
    }
  }
  *pos = end;
  return NULL;
}

const char *exa_resp_header_get(const exa_resp *r, const char *name, size_t *vlen) {
  const char *pos = NULL;
  return exa_resp_header_next(r, name, &pos, vlen);
}

static int is_event_stream(const exa_resp *r) {
  size_t n = 0, i = 0;
  const char *v = exa_resp_header_get(r, "content-type", &n);
  if (v == NULL) return 0;
  while (i < n && v[i] != ';') i++;
  while (i > 0 && exa_ascii_sp(v[i - 1])) i--;
  return exa_ascii_ieq(v, i, "text/event-stream");
}

/* "HTTP/<version> <3 digits, 100-599>[ reason]": the code, or -1. */
static long parse_status(const char *b, size_t n) {
  size_t i = 5;
  long s = 0;
  int digits = 0;
  while (i < n && b[i] != ' ') i++;
  while (i < n && b[i] == ' ') i++;
  for (; i < n && b[i] >= '0' && b[i] <= '9' && digits < 3; i++, digits++) s = s * 10 + (b[i] - '0');
  if (digits != 3 || (i < n && b[i] != ' ') || s < 100 || s > 599) return -1;
  if (memchr(b, '\0', n)) return -1; /* RFC 9110 5.5: NUL is never valid, reason phrase included */
  return s;
}

/* Does a fold continue the last header, and is that header one that frames
 * the body? Its length or coding would then be read differently by peers that
 * unfold and peers that refuse (libcurl refuses): refused on every backend.
 * hdrs holds "name\0value\0" pairs. */
static int folds_framing(const exa_resp *r) {
  const char *p = r->hdrs.p;
  size_t end = r->hdrs.len - 1, i; /* end: the last value's terminator */
  size_t nend, nstart;
  i = end;
  while (i > 0 && p[i - 1] != '\0') i--;  /* the value's start */
  if (i == 0) return 0;
  nend = i - 1;                            /* the name's terminator */
  nstart = nend;
  while (nstart > 0 && p[nstart - 1] != '\0') nstart--;
  return exa_ascii_ieq(p + nstart, nend - nstart, "content-length") || exa_ascii_ieq(p + nstart, nend - nstart, "transfer-encoding");
}

/* Two Content-Length headers that disagree: which body length is true is
 * unknowable (RFC 9110 8.6), so the response is refused, not guessed at. */
static int conflicting_length(const exa_resp *r) {
  const char *p = r->hdrs.p, *end, *first = NULL;
  if (p == NULL) return 0;
  end = p + r->hdrs.len;
  while (p < end) {
    const char *n = p, *v = n + strlen(n) + 1;
    p = v + strlen(v) + 1;
    if (strcmp(n, "content-length") != 0) continue;
    if (first == NULL) first = v;
    else if (strcmp(first, v) != 0) return 1;
  }
  return 0;
}

static int malformed(exa_resp *r, const char *what) {
  exa_resp_fail(r, EXA_EK_TRANSPORT, -1, "malformed response head: %s", what);
  return -1;
}

static int nomem(exa_resp *r) {
  exa_resp_fail(r, EXA_EK_TRANSPORT, -1, "out of memory reading the response head");
  return -1;
}

int exa_resp_header(exa_resp *r, const char *b, size_t n) {
  size_t len = n, i;
  if (r->ek != EXA_EK_NONE) return -1;
  if (n > EXA_RESP_MAX_HEAD - r->head_bytes) {
    exa_resp_fail(r, EXA_EK_TOO_LARGE, -1, "response headers exceed %lu bytes", (unsigned long)EXA_RESP_MAX_HEAD);
    return -1;
  }
  r->head_bytes += n;
  if (r->head_done) return 0; /* trailers */
  while (len > 0 && (b[len - 1] == '\r' || b[len - 1] == '\n')) len--;
  if (!r->in_head) { /* a status line starts each response, interim or final */
    if (len < 5 || memcmp(b, "HTTP/", 5) != 0) return malformed(r, "a header line before the status line");
    /* RFC 9112 2.3: HTTP-version is HTTP/DIGIT.DIGIT; an HTTP/1 connection answers HTTP/1.x (over
     * HTTP/2 libcurl hands over "HTTP/2 200" itself: only a connection known to be HTTP/1 checks) */
    if (r->cfg.h1_only && (len < 9 || memcmp(b, "HTTP/1.", 7) != 0 || b[7] < '0' || b[7] > '9' || b[8] != ' '))
      return malformed(r, "bad status line: an HTTP/1 connection must answer HTTP/1.x");
    r->status = parse_status(b, len);
    if (r->status < 0) {
      r->status = 0;
      return malformed(r, "bad status line");
    }
    r->hdrs.len = 0;
    r->in_head = 1;
    return 0;
  }
  if (len == 0) { /* end of this head */
    r->in_head = 0;
    if (r->status >= 100 && r->status < 200 && r->status != 101) {
      r->hdrs.len = 0; /* 100 Continue, 103 Early Hints: the real one follows */
      r->interim++;
      return 0;
    }
    if (conflicting_length(r)) return malformed(r, "conflicting Content-Length headers");
    r->head_done = 1;
    if (r->cfg.want_sse && r->status >= 200 && r->status < 300 && is_event_stream(r)) {
      r->is_sse = 1;
      exa_sse_init(&r->sse, r->cfg.max_line, r->cfg.max_event);
    }
    return 0;
  }
  if (memchr(b, '\0', len)) return malformed(r, "a NUL byte in a header line");
  if (exa_ascii_sp(b[0])) { /* obsolete line folding: continues the last value */
    size_t ve = len;
    for (i = 0; i < len && exa_ascii_sp(b[i]); i++) {}
    while (ve > i && exa_ascii_sp(b[ve - 1])) ve--;
    if (r->hdrs.len == 0) return malformed(r, "a folded line with no header before it");
    if (folds_framing(r)) return malformed(r, "a folded Content-Length or Transfer-Encoding line");
    if (i == ve) return 0; /* only whitespace: adds nothing */
    r->hdrs.len--; /* drop the value's terminator */
    if (r->hdrs.p[r->hdrs.len - 1] != '\0' && exa_buf_add(&r->hdrs, " ", 1)) return nomem(r);
    if (exa_buf_add(&r->hdrs, b + i, ve - i) || exa_buf_add(&r->hdrs, "", 1)) return nomem(r);
    return 0;
  } else {
    const char *colon = (const char *)memchr(b, ':', len);
    size_t nl, vs, ve, at;
    /* RFC 9112 5.1: no whitespace between the name and the colon (a client
     * that dropped it would read "Content-Length : 5" as a length libcurl
     * ignores); curl refuses a line with no colon ("Header without colon") */
    if (colon == NULL) return malformed(r, "a header line without a colon");
    if (colon == b) return malformed(r, "a header line without a name");
    nl = (size_t)(colon - b);
    if (exa_ascii_sp(b[nl - 1])) return malformed(r, "whitespace between a header name and its colon");
    for (vs = nl + 1; vs < len && exa_ascii_sp(b[vs]); vs++) {}
    for (ve = len; ve > vs && exa_ascii_sp(b[ve - 1]); ve--) {}
    at = r->hdrs.len;
    if (exa_buf_add(&r->hdrs, b, nl) || exa_buf_add(&r->hdrs, "", 1) || exa_buf_add(&r->hdrs, b + vs, ve - vs) ||
        exa_buf_add(&r->hdrs, "", 1))
      return nomem(r);
    for (i = 0; i < nl; i++) r->hdrs.p[at + i] = exa_ascii_lower(r->hdrs.p[at + i]);
    return 0;
  }
}

static int on_event(void *ud, const exa_sse_event *ev) {
  exa_resp *r = (exa_resp *)ud;
  exa_ev *e = (exa_ev *)malloc(sizeof(exa_ev) + ev->type_len + ev->data_len + ev->id_len);
  if (e == NULL) {
    exa_resp_fail(r, EXA_EK_SSE, -1, "out of memory queueing an event");
    return 1;
  }
  e->next = NULL;
  e->type_len = ev->type_len;
  e->data_len = ev->data_len;
  e->id_len = ev->id_len;
  e->retry = ev->retry;
  e->has_id = ev->has_id;
  memcpy(e->bytes, ev->type, ev->type_len); /* the framer's strings are never NULL */
  memcpy(e->bytes + e->type_len, ev->data, ev->data_len);
  memcpy(e->bytes + e->type_len + e->data_len, ev->id, ev->id_len);
  if (r->qtail) r->qtail->next = e;
  else r->qhead = e;
  r->qtail = e;
  r->queued += node_size(e);
  if (r->queued > r->queued_peak) r->queued_peak = r->queued;
  r->nevents++;
  return 0;
}

int exa_resp_body(exa_resp *r, const char *b, size_t n) {
  if (r->ek == EXA_EK_NONE && r->head_done && !r->ended && n > 0 && r->is_sse && r->queued >= r->cfg.max_queued)
    return EXA_RESP_PAUSE; /* the reader is behind */
  return exa_resp_take(r, b, n);
}

int exa_resp_take(exa_resp *r, const char *b, size_t n) {
  if (r->ek != EXA_EK_NONE) return EXA_RESP_FAIL;
  if (!r->head_done || r->ended) {
    exa_resp_fail(r, EXA_EK_TRANSPORT, -1, "response body bytes outside a body");
    return EXA_RESP_FAIL;
  }
  if (n == 0) return EXA_RESP_OK;
  if (r->is_sse) {
    int rc = exa_sse_feed(&r->sse, b, n, on_event, r);
    if (rc == EXA_SSE_ESTOP) return EXA_RESP_FAIL; /* on_event recorded why */
    if (rc == EXA_SSE_ELINE) {
      exa_resp_fail(r, EXA_EK_SSE, -1, "event stream: line exceeds max_line (%lu bytes)",
                    (unsigned long)r->sse.max_line);
      return EXA_RESP_FAIL;
    }
    if (rc == EXA_SSE_EEVENT) {
      exa_resp_fail(r, EXA_EK_SSE, -1, "event stream: event data exceeds max_event (%lu bytes)",
                    (unsigned long)r->sse.max_event);
      return EXA_RESP_FAIL;
    }
    if (rc != EXA_SSE_OK) {
      exa_resp_fail(r, EXA_EK_SSE, -1, "event stream: %s", exa_sse_strerror(rc));
      return EXA_RESP_FAIL;
    }
    return EXA_RESP_OK;
  }
  if (n > r->cfg.max_body - r->body.len) {
    exa_resp_fail(r, EXA_EK_TOO_LARGE, -1, "response body exceeds max_body (%lu bytes)",
                  (unsigned long)r->cfg.max_body);
    return EXA_RESP_FAIL;
  }
  if (exa_buf_add(&r->body, b, n)) {
    exa_resp_fail(r, EXA_EK_TRANSPORT, -1, "out of memory buffering the response body");
    return EXA_RESP_FAIL;
  }
  return EXA_RESP_OK;
}

void exa_resp_end(exa_resp *r) {
  if (r->ended) return;
  r->ended = 1;
  if (r->is_sse) {
    r->partial = exa_sse_finish(&r->sse);
    exa_sse_free(&r->sse);
  }
}

int exa_resp_can_resume(const exa_resp *r) { return r->queued <= r->cfg.max_queued / 2; }

void exa_ev_view(const exa_ev *e, exa_sse_event *ev) {
  ev->type = e->bytes;
  ev->type_len = e->type_len;
  ev->data = e->bytes + e->type_len;
  ev->data_len = e->data_len;
  ev->id = e->bytes + e->type_len + e->data_len;
  ev->id_len = e->id_len;
  ev->retry = e->retry;
  ev->has_id = e->has_id;
}
