/* h1.c - see h1.h.  No socket, no Lua: bytes in, state out. */
#include "h1.h"

#include <string.h>

enum { CS_SIZE, CS_SIZE_WS, CS_EXT, CS_SIZE_CR, CS_DATA, CS_DATA_CR, CS_DATA_LF, CS_TRAILER };

void exa_h1_init(exa_h1 *h, exa_resp *r, int raw_head, int is_head) {
  memset(h, 0, sizeof *h);
  h->r = r;
  h->raw_head = raw_head;
  h->is_head = is_head;
  h->mode = EXA_H1_HEAD;
  h->minor = 1;
}

void exa_h1_free(exa_h1 *h) { exa_buf_free(&h->line); }

static int h1_fail(exa_h1 *h, int kind, const char *code, const char *what, const char *s, size_t n) {
  if (h->r->ek != EXA_EK_NONE) return -1;
  h->code = code;
  if (s) exa_resp_fail(h->r, kind, -1, "%s: '%.*s'", what, (int)(n > 60 ? 60 : n), s);
  else exa_resp_fail(h->r, kind, -1, "%s", what);
  return -1;
}

/* Calls fn on each element of every header named name (a comma list),
 * trimmed; empty elements included.  Stops at fn's first non-zero. */
typedef int (*elem_fn)(exa_h1 *h, const char *s, size_t n, void *ud);
static int each_element(exa_h1 *h, const char *name, elem_fn fn, void *ud) {
  const char *pos = NULL, *v;
  size_t vn;
  while ((v = exa_resp_header_next(h->r, name, &pos, &vn)) != NULL) {
    size_t i = 0;
    for (;;) {
      size_t s = i, e;
      int rc;
      while (i < vn && v[i] != ',') i++;
      e = i;
      while (s < e && exa_ascii_sp(v[s])) s++;
      while (e > s && exa_ascii_sp(v[e - 1])) e--;
      if ((rc = fn(h, v + s, e - s, ud)) != 0) return rc;
      if (i >= vn) break;
      i++;
    }
  }
  return 0;
}

static int has_token_fn(exa_h1 *h, const char *s, size_t n, void *ud) {
  (void)h;
  return exa_ascii_ieq(s, n, (const char *)ud);
}

typedef struct coding_state {
  int count, chunked, last_chunked;
} coding_state;

static int coding_fn(exa_h1 *h, const char *s, size_t n, void *ud) {
  coding_state *c = (coding_state *)ud;
  if (n == 0) return 0; /* "a, , b": empty list elements are allowed and ignored */
  c->count++;
  if (exa_ascii_ieq(s, n, "chunked")) {
    if (c->chunked) return h1_fail(h, EXA_EK_TRANSPORT, "bad_coding", "Transfer-Encoding applies chunked twice", NULL, 0);
    c->chunked = c->last_chunked = 1;
    return 0;
  }
  return h1_fail(h, EXA_EK_TRANSPORT, "bad_coding", "unsupported transfer coding (only chunked is read)", s, n);
}

typedef struct length_state {
  int seen;
  unsigned long long n;
} length_state;

static int length_fn(exa_h1 *h, const char *s, size_t n, void *ud) {
  length_state *l = (length_state *)ud;
  unsigned long long v = 0;
  size_t i, z = 0;
  if (n == 0) return h1_fail(h, EXA_EK_TRANSPORT, "bad_length", "the response has an empty Content-Length", NULL, 0);
  while (z < n && s[z] == '0') z++; /* leading zeros: 010 is 10 */
  if (n - z > 18) return h1_fail(h, EXA_EK_TRANSPORT, "bad_length", "the response has an invalid Content-Length", s, n);
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return h1_fail(h, EXA_EK_TRANSPORT, "bad_length", "the response has an invalid Content-Length", s, n);
    v = v * 10 + (unsigned long long)(s[i] - '0');
  }
  if (l->seen && l->n != v)
    return h1_fail(h, EXA_EK_TRANSPORT, "bad_length", "the response has conflicting Content-Length values", s, n);
  l->seen = 1;
  l->n = v;
  return 0;
}

static int encoding_fn(exa_h1 *h, const char *s, size_t n, void *ud) {
  (void)ud;
  if (n == 0 || exa_ascii_ieq(s, n, "identity")) return 0;
  return h1_fail(h, EXA_EK_TRANSPORT, "content_encoding",
              "the response has a Content-Encoding; no content coding is asked for or decoded", s, n);
}

static void done(exa_h1 *h) {
  h->mode = EXA_H1_DONE;
  exa_resp_end(h->r);
}

static int frame(exa_h1 *h) {
  exa_resp *r = h->r;
  coding_state c = {0, 0, 0};
  length_state l = {0, 0};
  int has_te, has_cl;
  const char *pos = NULL;
  size_t vn;
  if (r->ek != EXA_EK_NONE) return -1;
  if (h->mode != EXA_H1_HEAD) return 0;
  h->keep = h->minor >= 1 ? !each_element(h, "connection", has_token_fn, (void *)"close")
                          : each_element(h, "connection", has_token_fn, (void *)"keep-alive");
  if (h->is_head || r->status < 200 || r->status == 204 || r->status == 304) {
    if (r->status < 200) h->keep = 0; /* 101: the connection is no longer HTTP */
    if (h->raw_head) done(h);
    else h->mode = EXA_H1_PASS;
    return 0;
  }
  if (each_element(h, "content-encoding", encoding_fn, NULL)) return -1;
  has_te = exa_resp_header_next(r, "transfer-encoding", &pos, &vn) != NULL;
  pos = NULL;
  has_cl = exa_resp_header_next(r, "content-length", &pos, &vn) != NULL;
  if (has_te) {
    if (each_element(h, "transfer-encoding", coding_fn, &c)) return -1;
    if (c.count == 0) return h1_fail(h, EXA_EK_TRANSPORT, "bad_coding", "the response has an empty Transfer-Encoding", NULL, 0);
    if (has_cl) h->keep = 0; /* RFC 9112 6.1: chunked wins, and the connection closes after */
    h->mode = EXA_H1_CHUNKED;
    h->cs = CS_SIZE;
    return 0;
  }
  if (has_cl) {
    if (each_element(h, "content-length", length_fn, &l)) return -1;
    if (!h->raw_head) {
      h->mode = EXA_H1_PASS;
      return 0;
    }
    if (!r->is_sse && l.n > r->cfg.max_body) {
      h->code = NULL;
      exa_resp_fail(r, EXA_EK_TOO_LARGE, -1, "response body exceeds max_body (%lu bytes)",
                    (unsigned long)r->cfg.max_body);
      return -1;
    }
    h->left = l.n;
    h->mode = EXA_H1_LENGTH;
    if (l.n == 0) done(h);
    return 0;
  }
  if (!h->raw_head) {
    h->mode = EXA_H1_PASS;
    return 0;
  }
  h->keep = 0;
  h->mode = EXA_H1_CLOSE;
  return 0;
}

int exa_h1_frame(exa_h1 *h) {
  if (frame(h) == 0) return 0;
  /* a head whose framing is refused is not one to read: the reader sees the error */
  h->r->head_done = 0;
  return -1;
}

/* Append b[0..n) to the pending line, within the bounds. */
static int h1_line_add(exa_h1 *h, const char *b, size_t n) {
  exa_resp *r = h->r;
  if (h->mode == EXA_H1_CHUNKED && n > EXA_H1_MAX_TRAILER - h->line.len) {
    h1_fail(h, EXA_EK_TRANSPORT, "bad_trailer", "a trailer line over 4 KiB (libcurl 7.88 refuses those too)", NULL, 0);
    return -1;
  }
  if (n > EXA_H1_MAX_LINE - h->line.len) {
    exa_resp_fail(r, EXA_EK_TOO_LARGE, -1, "a response head line exceeds %lu bytes", (unsigned long)EXA_H1_MAX_LINE);
    return -1;
  }
  if (h->line.len + n > EXA_RESP_MAX_HEAD - r->head_bytes) {
    exa_resp_fail(r, EXA_EK_TOO_LARGE, -1, "response headers exceed %lu bytes", (unsigned long)EXA_RESP_MAX_HEAD);
    return -1;
  }
  if (exa_buf_add(&h->line, b, n)) {
    exa_resp_fail(r, EXA_EK_TRANSPORT, -1, "out of memory reading the response head");
    return -1;
  }
  return 0;
}

/* "HTTP/1.<digit> ": the reader only speaks HTTP/1 */
static int status_line_ok(exa_h1 *h, const char *s, size_t n) {
  if (n < 9 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9' || s[8] != ' ') return 0;
  h->minor = s[7] - '0';
  return 1;
}

/* Head (or trailer) lines out of b[0..n): returns the bytes used, or
 * (size_t)-1 on failure.  Stops after the line that completes the head. */
static size_t head_bytes(exa_h1 *h, const char *b, size_t n) {
  exa_resp *r = h->r;
  size_t used = 0;
  while (used < n) {
    const char *nl = (const char *)memchr(b + used, '\n', n - used);
    size_t seg = nl ? (size_t)(nl - (b + used)) + 1 : n - used;
    if (h1_line_add(h, b + used, seg)) return (size_t)-1;
    used += seg;
    if (!nl) break;
    if (h->mode == EXA_H1_HEAD && !r->in_head && !status_line_ok(h, h->line.p, h->line.len)) {
      h1_fail(h, EXA_EK_TRANSPORT, "bad_response", "the server did not answer with an HTTP/1.x status line", h->line.p,
           h->line.len);
      return (size_t)-1;
    }
    if (exa_resp_header(r, h->line.p, h->line.len)) return (size_t)-1;
    if (h->mode == EXA_H1_CHUNKED) { /* a trailer line: the blank one ends the body */
      size_t len = h->line.len;
      while (len > 0 && (h->line.p[len - 1] == '\r' || h->line.p[len - 1] == '\n')) len--;
      h->line.len = 0;
      if (len == 0) {
        done(h);
        break;
      }
      continue;
    }
    h->line.len = 0;
    if (r->head_done) {
      if (exa_h1_frame(h)) return (size_t)-1;
      break;
    }
  }
  return used;
}

static int take(exa_h1 *h, const char *b, size_t n) {
  return exa_resp_take(h->r, b, n) == EXA_RESP_OK ? 0 : -1;
}

static int bad_chunk(exa_h1 *h, const char *what) { return h1_fail(h, EXA_EK_TRANSPORT, "bad_chunk", what, NULL, 0); }

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = exa_ascii_lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* The end of a chunk-size line: a chunk bigger than what max_body still
 * allows is refused before its bytes are read. */
static int size_line_end(exa_h1 *h) {
  exa_resp *r = h->r;
  h->cs = h->left == 0 ? CS_TRAILER : CS_DATA;
  h->line.len = 0;
  if (!r->is_sse && h->left > (unsigned long long)(r->cfg.max_body - r->body.len)) {
    exa_resp_fail(r, EXA_EK_TOO_LARGE, -1, "response body exceeds max_body (%lu bytes)", (unsigned long)r->cfg.max_body);
    return -1;
  }
  return 0;
}

/* Chunked body bytes: returns the bytes used, or (size_t)-1. */
static size_t chunked(exa_h1 *h, const char *b, size_t n) {
  size_t i = 0;
  while (i < n && h->mode == EXA_H1_CHUNKED) {
    char ch = b[i];
    switch (h->cs) {
      case CS_SIZE: {
        int d = hexval(ch);
        if (d >= 0) {
          if (h->digits >= EXA_H1_MAX_DIGITS) return (size_t)bad_chunk(h, "a chunk size longer than 16 hex digits");
          h->left = (h->left << 4) | (unsigned long long)d;
          h->digits++;
          h->linelen++;
          i++;
          break;
        }
        if (h->digits == 0) return (size_t)bad_chunk(h, "a chunk-size line without a hex size");
        if (exa_ascii_sp(ch)) h->cs = CS_SIZE_WS;
        else if (ch == ';') h->cs = CS_EXT;
        else if (ch == '\r') h->cs = CS_SIZE_CR;
        else if (ch == '\n') {
          if (size_line_end(h)) return (size_t)-1;
        } else return (size_t)bad_chunk(h, "a chunk size with bytes after its hex digits (not an extension)");
        h->linelen++;
        i++;
        break;
      }
      case CS_SIZE_WS:
        if (ch == ';') h->cs = CS_EXT;
        else if (ch == '\r') h->cs = CS_SIZE_CR;
        else if (ch == '\n') {
          if (size_line_end(h)) return (size_t)-1;
        } else if (!exa_ascii_sp(ch)) return (size_t)bad_chunk(h, "a chunk size with bytes after its hex digits (not an extension)");
        h->linelen++;
        i++;
        break;
      case CS_EXT: { /* extensions are ignored */
        const char *e = (const char *)memchr(b + i, '\n', n - i);
        const char *cr = (const char *)memchr(b + i, '\r', (size_t)((e ? e : b + n) - (b + i)));
        size_t seg = (size_t)((cr ? cr : e ? e : b + n) - (b + i));
        h->linelen += seg;
        i += seg;
        if (h->linelen > EXA_H1_MAX_LINE) return (size_t)bad_chunk(h, "a chunk-size line longer than 100 KiB");
        if (cr) {
          h->cs = CS_SIZE_CR;
          h->linelen++;
          i++;
        } else if (e) {
          if (size_line_end(h)) return (size_t)-1;
          i++;
        }
        break;
      }
      case CS_SIZE_CR:
        if (ch != '\n') return (size_t)bad_chunk(h, "a CR without LF in a chunk-size line");
        if (size_line_end(h)) return (size_t)-1;
        i++;
        break;
      case CS_DATA: {
        size_t k = n - i;
        if ((unsigned long long)k > h->left) k = (size_t)h->left;
        if (take(h, b + i, k)) return (size_t)-1;
        h->left -= k;
        i += k;
        if (h->left == 0) h->cs = CS_DATA_CR;
        break;
      }
      case CS_DATA_CR:
        if (ch == '\r') h->cs = CS_DATA_LF;
        else if (ch == '\n') h->cs = CS_SIZE;
        else return (size_t)bad_chunk(h, "a chunk is not followed by CRLF");
        i++;
        if (h->cs == CS_SIZE) h->digits = 0, h->linelen = 0;
        break;
      case CS_DATA_LF:
        if (ch != '\n') return (size_t)bad_chunk(h, "a chunk is not followed by CRLF");
        h->cs = CS_SIZE;
        h->digits = 0;
        h->linelen = 0;
        i++;
        break;
      default: { /* CS_TRAILER */
        size_t k = head_bytes(h, b + i, n - i);
        if (k == (size_t)-1) return k;
        i += k;
      }
    }
  }
  return i;
}

int exa_h1_feed(exa_h1 *h, const char *b, size_t n) {
  exa_resp *r = h->r;
  if (r->ek != EXA_EK_NONE) return EXA_RESP_FAIL;
  if (h->mode != EXA_H1_HEAD && h->mode != EXA_H1_DONE && r->is_sse && n > 0 && r->queued >= r->cfg.max_queued)
    return EXA_RESP_PAUSE; /* the reader is behind: nothing taken */
  h->fed += n;
  while (n > 0) {
    size_t k = 0;
    switch (h->mode) {
      case EXA_H1_HEAD:
        if (!h->raw_head) {
          exa_resp_fail(r, EXA_EK_TRANSPORT, -1, "response body bytes outside a body");
          return EXA_RESP_FAIL;
        }
        k = head_bytes(h, b, n);
        break;
      case EXA_H1_LENGTH:
        k = n;
        if ((unsigned long long)k > h->left) k = (size_t)h->left;
        if (take(h, b, k)) return EXA_RESP_FAIL;
        h->left -= k;
        if (h->left == 0) done(h);
        break;
      case EXA_H1_CHUNKED:
        k = chunked(h, b, n);
        if (k != (size_t)-1 && h->mode == EXA_H1_CHUNKED && h->cs <= CS_SIZE_CR && h->linelen > EXA_H1_MAX_LINE)
          k = (size_t)bad_chunk(h, "a chunk-size line longer than 100 KiB");
        break;
      case EXA_H1_CLOSE:
      case EXA_H1_PASS:
        k = n;
        if (exa_resp_take(r, b, n) != EXA_RESP_OK) return EXA_RESP_FAIL;
        break;
      default: /* DONE: bytes past the response */
        h->keep = 0;
        return EXA_RESP_OK;
    }
    if (k == (size_t)-1) return EXA_RESP_FAIL;
    b += k;
    n -= k;
  }
  return r->ek != EXA_EK_NONE ? EXA_RESP_FAIL : EXA_RESP_OK;
}

int exa_h1_eof(exa_h1 *h) {
  exa_resp *r = h->r;
  if (r->ek != EXA_EK_NONE) return -1;
  switch (h->mode) {
    case EXA_H1_DONE: return 0;
    case EXA_H1_CLOSE:
    case EXA_H1_PASS:
      h->keep = 0;
      done(h);
      return 0;
    case EXA_H1_HEAD:
      if (h->fed == 0) return h1_fail(h, EXA_EK_TRANSPORT, "empty_reply", "the server closed the connection without answering", NULL, 0);
      return h1_fail(h, EXA_EK_TRANSPORT, "closed_early", "the response ended before its headers", NULL, 0);
    case EXA_H1_LENGTH:
      return h1_fail(h, EXA_EK_TRANSPORT, "closed_early", "the connection closed before the end of the body (Content-Length)", NULL, 0);
    default:
      return h1_fail(h, EXA_EK_TRANSPORT, "closed_early", "the connection closed before the end of the chunked body", NULL, 0);
  }
}

int exa_h1_done(const exa_h1 *h) { return h->mode == EXA_H1_DONE; }

unsigned long long exa_h1_want(const exa_h1 *h) {
  if (h->r->ek != EXA_EK_NONE || h->mode == EXA_H1_DONE) return 0;
  if (h->mode == EXA_H1_LENGTH) return h->left;
  return 1;
}

int exa_h1_keepalive(const exa_h1 *h) { return h->mode == EXA_H1_DONE && h->keep && h->r->ek == EXA_EK_NONE; }
