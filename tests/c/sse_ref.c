/* sse_ref.c - see sse_ref.h.  Deliberately naive: byte loops, a data buffer
 * kept exactly as WHATWG describes it (each data line plus a LF). */
#include "sse_ref.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct buf {
  char *b;
  size_t n, cap;
} buf;

static void buf_put(buf *x, const char *s, size_t n) {
  if (x->n + n > x->cap) {
    x->cap = (x->n + n) * 2 + 16;
    x->b = (char *)realloc(x->b, x->cap);
    if (x->b == NULL) abort();
  }
  if (n) memcpy(x->b + x->n, s, n);
  x->n += n;
}

static void buf_set(buf *x, const char *s, size_t n) {
  x->n = 0;
  buf_put(x, s, n);
}

static int eq(const char *s, size_t n, const char *lit) {
  return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

void sse_ref_parse(const char *s, size_t n, size_t max_line, size_t max_event,
                   exa_sse_event_cb on_event, exa_sse_comment_cb on_comment, void *ud,
                   sse_ref_result *r) {
  buf data = {0, 0, 0}, type = {0, 0, 0}, idbuf = {0, 0, 0}, last = {0, 0, 0};
  size_t i = 0;
  int has_id = 0, open_block = 0;
  if (max_line == 0) max_line = EXA_SSE_DEFAULT_MAX_LINE;
  if (max_event == 0) max_event = EXA_SSE_DEFAULT_MAX_EVENT;
  r->rc = 0;
  r->retry = -1;
  r->partial = 0;
  if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) i = 3;
  else if (n < 3 && memcmp(s, "\xEF\xBB\xBF", n) == 0) { /* a BOM cut short: nothing yet */
    i = n;
    r->partial = n > 0;
  }
  while (i < n) {
    size_t start = i, len, k;
    const char *line, *field, *value;
    size_t flen, vlen;
    while (i < n && s[i] != '\r' && s[i] != '\n') i++;
    len = i - start;
    if (len > max_line) { r->rc = EXA_SSE_ELINE; break; }
    if (i == n) { /* no line end: the block is unterminated, dropped */
      r->partial = 1;
      break;
    }
    if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') i += 2;
    else i += 1;
    line = s + start;
    if (len == 0) { /* dispatch */
      int own_id = has_id;
      has_id = open_block = 0;
      buf_set(&last, idbuf.b, idbuf.n);
      if (data.n == 0) { type.n = 0; continue; }
      if (data.b[data.n - 1] == '\n') data.n--;
      if (on_event) {
        exa_sse_event ev;
        ev.type = type.n ? type.b : "message";
        ev.type_len = type.n ? type.n : 7;
        ev.data = data.n ? data.b : "";
        ev.data_len = data.n;
        ev.id = last.n ? last.b : "";
        ev.id_len = last.n;
        ev.retry = r->retry;
        ev.has_id = own_id;
        on_event(ud, &ev);
      }
      data.n = 0;
      type.n = 0;
      continue;
    }
    if (line[0] == ':') {
      if (on_comment) on_comment(ud, line + 1, len - 1);
      continue;
    }
    open_block = 1;
    for (k = 0; k < len && line[k] != ':'; k++) {}
    field = line;
    flen = k;
    if (k < len) {
      value = line + k + 1;
      vlen = len - k - 1;
      if (vlen > 0 && value[0] == ' ') { value++; vlen--; }
    } else {
      value = line + len;
      vlen = 0;
    }
    if (eq(field, flen, "event")) {
      buf_set(&type, value, vlen);
    } else if (eq(field, flen, "data")) {
      buf_put(&data, value, vlen);
      buf_put(&data, "\n", 1);
      if (data.n - 1 > max_event) { r->rc = EXA_SSE_EEVENT; break; }
    } else if (eq(field, flen, "id")) {
      int nul = 0;
      for (k = 0; k < vlen; k++) nul |= value[k] == '\0';
      if (!nul) {
        buf_set(&idbuf, value, vlen);
        has_id = 1;
      }
    } else if (eq(field, flen, "retry")) {
      unsigned long long v = 0;
      int ok = vlen > 0;
      for (k = 0; ok && k < vlen; k++) {
        if (value[k] < '0' || value[k] > '9' || v > (unsigned long long)LONG_MAX / 10 + 1) ok = 0;
        else if ((v = v * 10 + (unsigned long long)(value[k] - '0')) > (unsigned long long)LONG_MAX) ok = 0;
      }
      if (ok) r->retry = (long)v;
    }
  }
  if (open_block) r->partial = 1;
  if (r->rc) r->partial = 0;
  r->last_id = last.b;
  r->last_id_len = last.n;
  free(data.b);
  free(type.b);
  free(idbuf.b);
}

void sse_ref_result_free(sse_ref_result *r) {
  free(r->last_id);
  r->last_id = NULL;
}
