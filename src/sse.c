/*
 * sse.c - the SSE framer: a state machine over bytes, no I/O, no Lua.
 *
 * The hot path is one memchr per line end kind, cached until passed: a line
 * wholly inside the caller's chunk is parsed where it lies (zero copy), and
 * only the partial line at the end of a chunk is carried in p->line.  A
 * block's first data line is borrowed from the chunk too, and copied only if
 * the block outlives the chunk or gets a second data line.
 */
#include "sse.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char bom[3] = {'\xEF', '\xBB', '\xBF'};

void exa_sse_init(exa_sse *p, size_t max_line, size_t max_event) {
  memset(p, 0, sizeof *p);
  p->max_line = max_line ? max_line : EXA_SSE_DEFAULT_MAX_LINE;
  p->max_event = max_event ? max_event : EXA_SSE_DEFAULT_MAX_EVENT;
  p->retry = -1;
}

void exa_sse_free(exa_sse *p) {
  free(p->line);
  free(p->data);
  free(p->type);
  free(p->id);
  free(p->last_id);
  p->line = p->data = p->type = p->id = p->last_id = NULL;
  p->line_len = p->line_cap = p->data_len = p->data_cap = 0;
  p->type_len = p->type_cap = p->id_len = p->id_cap = 0;
  p->last_id_len = p->last_id_cap = 0;
  p->borrow = NULL;
  p->has_data = p->id_set = p->block_open = 0;
}

const char *exa_sse_strerror(int rc) {
  switch (rc) {
    case EXA_SSE_OK: return "ok";
    case EXA_SSE_ELINE: return "line exceeds max_line";
    case EXA_SSE_EEVENT: return "event data exceeds max_event";
    case EXA_SSE_ENOMEM: return "out of memory";
    case EXA_SSE_ESTOP: return "stopped by the event callback";
    default: return "unknown error";
  }
}

const char *exa_sse_last_id(const exa_sse *p, size_t *len) {
  if (len) *len = p->last_id_len;
  return p->last_id_len ? p->last_id : "";
}

long exa_sse_retry(const exa_sse *p) { return p->retry; }

int exa_sse_finish(exa_sse *p) {
  int partial = p->line_len > 0 || p->block_open || (p->bom > 0 && p->bom < 3);
  p->line_len = 0;
  p->data_len = 0;
  p->borrow = NULL;
  p->has_data = 0;
  p->type_len = 0;
  p->id_set = 0; /* the unterminated block's id never becomes the last event id */
  p->block_open = 0;
  p->bom = 0;
  p->after_cr = 0;
  return partial;
}

/* Make room for need bytes in *b (capacity *cap), growing geometrically but
 * never past max (need <= max is the caller's promise). */
static int reserve(char **b, size_t *cap, size_t need, size_t max) {
  size_t n;
  char *nb;
  if (need <= *cap) return 0;
  n = *cap < max / 2 ? *cap * 2 : max;
  if (n < 64) n = 64 < max ? 64 : max;
  if (n < need) n = need;
  nb = (char *)realloc(*b, n);
  if (nb == NULL) return EXA_SSE_ENOMEM;
  *b = nb;
  *cap = n;
  return 0;
}

static int set(char **b, size_t *len, size_t *cap, const char *v, size_t n, size_t max) {
  if (reserve(b, cap, n, max)) return EXA_SSE_ENOMEM;
  if (n) memcpy(*b, v, n);
  *len = n;
  return 0;
}

static int line_add(exa_sse *p, const char *s, size_t n) {
  if (n > p->max_line - p->line_len) return EXA_SSE_ELINE;
  if (reserve(&p->line, &p->line_cap, p->line_len + n, p->max_line)) return EXA_SSE_ENOMEM;
  memcpy(p->line + p->line_len, s, n);
  p->line_len += n;
  return 0;
}

/* Copy a borrowed data line into p->data: the chunk it lives in is going away. */
static int unborrow(exa_sse *p) {
  const char *b = p->borrow;
  p->borrow = NULL;
  return set(&p->data, &p->data_len, &p->data_cap, b, p->data_len, p->max_event);
}

static int data_add(exa_sse *p, const char *v, size_t n, int in_chunk) {
  size_t sep = (size_t)p->has_data;
  if (p->data_len + sep > p->max_event || n > p->max_event - p->data_len - sep) return EXA_SSE_EEVENT;
  if (!p->has_data && in_chunk) {
    p->has_data = 1;
    p->borrow = v;
    p->data_len = n;
    return 0;
  }
  if (p->borrow && unborrow(p)) return EXA_SSE_ENOMEM;
  if (reserve(&p->data, &p->data_cap, p->data_len + sep + n, p->max_event)) return EXA_SSE_ENOMEM;
  if (sep) p->data[p->data_len++] = '\n';
  if (n) memcpy(p->data + p->data_len, v, n);
  p->data_len += n;
  p->has_data = 1;
  return 0;
}

/* A blank line: commit the id, deliver the block if it had data, reset it.
 * The block is reset before the callback runs, so a callback that never
 * returns (a longjmp) leaves nothing half-done behind. */
static int dispatch(exa_sse *p, exa_sse_event_cb cb, void *ud) {
  exa_sse_event ev;
  ev.has_id = p->id_set;
  p->block_open = 0;
  if (p->id_set) { /* swap: the block's id becomes the last event id */
    char *b = p->last_id;
    size_t cap = p->last_id_cap;
    p->last_id = p->id;
    p->last_id_len = p->id_len;
    p->last_id_cap = p->id_cap;
    p->id = b;
    p->id_cap = cap;
    p->id_len = 0;
    p->id_set = 0;
  }
  if (!p->has_data) {
    p->type_len = 0;
    return 0;
  }
  ev.type = p->type_len ? p->type : "message";
  ev.type_len = p->type_len ? p->type_len : 7;
  ev.data = p->borrow ? p->borrow : p->data_len ? p->data : "";
  ev.data_len = p->data_len;
  ev.id = exa_sse_last_id(p, &ev.id_len);
  ev.retry = p->retry;
  p->type_len = p->data_len = 0;
  p->borrow = NULL;
  p->has_data = 0;
  if (cb && cb(ud, &ev)) return EXA_SSE_ESTOP;
  return 0;
}

/* Interpret one complete line (without its line end).  in_chunk: the line
 * lies in the caller's chunk, not in p->line. */
static int process(exa_sse *p, const char *s, size_t n, int in_chunk, exa_sse_event_cb cb, void *ud) {
  const char *colon, *v;
  size_t fn, vn;
  if (n == 0) return dispatch(p, cb, ud);
  if (s[0] == ':') {
    if (p->on_comment) p->on_comment(ud, s + 1, n - 1);
    return 0;
  }
  p->block_open = 1;
  colon = (const char *)memchr(s, ':', n);
  if (colon) {
    fn = (size_t)(colon - s);
    v = colon + 1;
    vn = n - fn - 1;
    if (vn && *v == ' ') v++, vn--;
  } else {
    fn = n;
    v = s + n;
    vn = 0;
  }
  switch (fn) {
    case 4:
      if (memcmp(s, "data", 4) == 0) return data_add(p, v, vn, in_chunk);
      break;
    case 5:
      if (memcmp(s, "event", 5) == 0) return set(&p->type, &p->type_len, &p->type_cap, v, vn, p->max_line);
      if (memcmp(s, "retry", 5) == 0) {
        long r = 0;
        size_t i;
        for (i = 0; i < vn; i++) {
          int d = v[i] - '0';
          if (d < 0 || d > 9 || r > (LONG_MAX - d) / 10) return 0; /* not all digits, or too big */
          r = r * 10 + d;
        }
        if (vn) p->retry = r;
      }
      break;
    case 2:
      if (s[0] == 'i' && s[1] == 'd' && memchr(v, '\0', vn) == NULL) { /* an id with NUL is ignored */
        p->id_set = 1;
        return set(&p->id, &p->id_len, &p->id_cap, v, vn, p->max_line);
      }
      break;
  }
  return 0; /* unknown field: ignored */
}

/* At the stream start: match a leading BOM, however split.  Returns where
 * the stream proper starts in [s, end). */
static const char *skip_bom(exa_sse *p, const char *s, const char *end, int *rc) {
  while (s < end) {
    if (*s != bom[p->bom]) { /* not a BOM: the bytes matched so far were line content */
      int k = p->bom;
      p->bom = 3;
      if (k) *rc = line_add(p, bom, (size_t)k);
      return s;
    }
    s++;
    if (++p->bom == 3) return s;
  }
  return s;
}

static const char *find(const char *s, const char *end, int c) {
  const char *q = (const char *)memchr(s, c, (size_t)(end - s));
  return q ? q : end;
}

static int fail(exa_sse *p, int rc) {
  p->failed = rc;
  p->borrow = NULL; /* the chunk it points into is not ours past this call */
  return rc;
}

int exa_sse_feed(exa_sse *p, const char *buf, size_t n, exa_sse_event_cb cb, void *ud) {
  const char *s = buf, *end = buf + n, *cr, *lf, *eol;
  int rc = 0;
  if (p->failed) return p->failed;
  if (n == 0) return 0;
  if (p->after_cr) {
    p->after_cr = 0;
    if (*s == '\n') s++;
  }
  if (p->bom < 3) {
    s = skip_bom(p, s, end, &rc);
    if (rc) return fail(p, rc);
  }
  cr = find(s, end, '\r');
  lf = find(s, end, '\n');
  while (s < end) {
    size_t len;
    if (cr < s) cr = find(s, end, '\r');
    if (lf < s) lf = find(s, end, '\n');
    eol = cr < lf ? cr : lf;
    len = (size_t)(eol - s);
    if (eol == end) { /* a partial line: carry it to the next chunk */
      if ((rc = line_add(p, s, len)) != 0) return fail(p, rc);
      break;
    }
    if (p->line_len) {
      if ((rc = line_add(p, s, len)) != 0) return fail(p, rc);
      len = p->line_len;
      p->line_len = 0; /* the bytes stay put while the line is read */
      rc = process(p, p->line, len, 0, cb, ud);
    } else if (len > p->max_line) {
      return fail(p, EXA_SSE_ELINE);
    } else {
      rc = process(p, s, len, 1, cb, ud);
    }
    if (rc) return fail(p, rc);
    s = eol + 1;
    if (*eol == '\r') {
      if (s == end) p->after_cr = 1;
      else if (*s == '\n') s++;
    }
  }
  if (p->borrow && (rc = unborrow(p)) != 0) return fail(p, rc);
  return 0;
}
