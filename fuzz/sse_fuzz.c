/*
 * sse_fuzz.c - libFuzzer target for the SSE framer.
 *
 * Input: 4 header bytes, then the stream.  Header: [0] picks max_line, [1]
 * max_event, [2..3] seed the chunking.  Each input is fed to the framer three
 * ways (random chunks, whole, one byte at a time) and parsed by the literal
 * reference (tests/c/sse_ref.c); all four must deliver the same events,
 * comments (in the same places), error, last event id and retry, and the
 * framer must never hold more than its bounds.  Any difference traps.
 *
 *   fuzz/run.sh [seconds]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rec.h"
#include "sse.h"
#include "sse_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t max_lines[8] = {1, 2, 3, 7, 16, 64, 1024, 0};
static const size_t max_events[8] = {1, 2, 5, 16, 100, 1000, 65536, 0};

static void require(int ok) {
  if (!ok) __builtin_trap();
}

static void bounded(const exa_sse *p) {
  require(p->line_cap <= p->max_line && p->type_cap <= p->max_line && p->id_cap <= p->max_line &&
          p->last_id_cap <= p->max_line && p->data_cap <= p->max_event && p->line_len <= p->max_line &&
          p->data_len <= p->max_event);
}

/* mode 0: random chunks from seed, 1: whole, 2: one byte at a time */
static void run(const char *s, size_t n, size_t ml, size_t me, int mode, unsigned seed, rec *r) {
  exa_sse p;
  size_t from = 0, last_len;
  const char *last;
  int rc = 0, partial;
  unsigned x = seed * 2654435761u + 1;
  exa_sse_init(&p, ml, me);
  p.on_comment = rec_comment;
  rec_reset(r);
  do {
    size_t k = n - from;
    int frc;
    if (mode == 2 && k > 1) k = 1;
    if (mode == 0 && k > 0) {
      x ^= x << 13, x ^= x >> 17, x ^= x << 5;
      k = x % (seed % 64 + 2); /* 0 .. 65: empty chunks too */
      if (k > n - from) k = n - from;
    }
    frc = exa_sse_feed(&p, s + from, k, rec_event, r);
    bounded(&p);
    require(frc == 0 || rc == 0 || frc == rc); /* errors are sticky */
    if (frc && !rc) rc = frc;
    from += k;
  } while (from < n);
  partial = exa_sse_finish(&p);
  bounded(&p);
  last = exa_sse_last_id(&p, &last_len);
  rec_end(r, rc, last, last_len, exa_sse_retry(&p), partial);
  exa_sse_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static rec a = {{0}, {0}, 0, 0, 1, 0, 0}, b = {{0}, {0}, 0, 0, 1, 0, 0}, ref = {{0}, {0}, 0, 0, 1, 0, 0};
  const char *s = (const char *)data + 4;
  size_t n, ml, me;
  unsigned seed;
  sse_ref_result res;
  if (size < 4) return 0;
  a.extra = b.extra = ref.extra = 1; /* has_id and partial too */
  n = size - 4;
  ml = max_lines[data[0] & 7];
  me = max_events[data[1] & 7];
  seed = (unsigned)data[2] | (unsigned)data[3] << 8;

  rec_reset(&ref);
  sse_ref_parse(s, n, ml, me, rec_event, rec_comment, &ref, &res);
  rec_end(&ref, res.rc, res.last_id ? res.last_id : "", res.last_id_len, res.retry, res.partial);
  sse_ref_result_free(&res);

  run(s, n, ml, me, 0, seed, &a);
  require(rec_same(&a, &ref));
  run(s, n, ml, me, 1, 0, &b);
  require(rec_same(&b, &ref));
  run(s, n, ml, me, 2, 0, &b);
  require(rec_same(&b, &ref));
  return 0;
}
