/*
 * sse_test.c - the SSE framer in C, no Lua: every conformance case under
 * many chunkings (as given, whole, byte by byte, every single cut, random
 * cuts), checked against the case's expectations and against a literal
 * reference parser (sse_ref.c); the same cases under tight bounds against the
 * reference; random streams against the reference; the memory bounds after
 * every feed; stop and allocation failure paths.
 *
 *   sse_test cases.txt      (cases.txt from gen_cases.lua)
 *
 * Prints failures, then "N passed, M failed"; exits 1 on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_MAX_PRINT 50
#include "check.h"

/* The code under test, its allocations through the failure injector. */
#define realloc test_realloc
#include "sse.c"
#undef realloc

#include "rec.h"
#include "sse_ref.h"

/* ---- the cases ---------------------------------------------------------- */

typedef struct str {
  char *s;
  size_t n;
} str;

typedef struct tcase {
  char name[160];
  str *chunks;
  size_t nchunks;
  long *counts;
  size_t ncounts;
  rec want; /* events + end record; comments (without order) */
} tcase;

static str unhex(const char *h) {
  str r;
  size_t i, n = strcspn(h, " \n");
  r.s = (char *)malloc(n / 2 + 1);
  r.n = 0;
  if (r.s == NULL) abort();
  if (n == 1 && h[0] == '-') return r;
  for (i = 0; i + 1 < n; i += 2) {
    unsigned v;
    sscanf(h + i, "%2x", &v);
    r.s[r.n++] = (char)v;
  }
  return r;
}

static const char *next_tok(const char *s) {
  s += strcspn(s, " \n");
  return *s == ' ' ? s + 1 : s;
}

static tcase *load_cases(const char *path, size_t *ncases) {
  FILE *f = fopen(path, "rb");
  char *line = NULL;
  size_t cap = 0, n = 0;
  tcase *cases = NULL, *c = NULL;
  str last = {NULL, 0};
  if (f == NULL) {
    perror(path);
    exit(2);
  }
  while (getline(&line, &cap, f) > 0) {
    const char *arg = next_tok(line);
    if (strncmp(line, "case ", 5) == 0) {
      cases = (tcase *)realloc(cases, (n + 1) * sizeof *cases);
      c = &cases[n++];
      memset(c, 0, sizeof *c);
      snprintf(c->name, sizeof c->name, "%.*s", (int)strcspn(arg, "\n"), arg);
    } else if (strncmp(line, "chunk ", 6) == 0) {
      c->chunks = (str *)realloc(c->chunks, (c->nchunks + 1) * sizeof *c->chunks);
      c->chunks[c->nchunks++] = unhex(arg);
    } else if (strncmp(line, "counts ", 7) == 0) {
      const char *p = arg;
      while (*p && *p != '\n') {
        c->counts = (long *)realloc(c->counts, (c->ncounts + 1) * sizeof *c->counts);
        c->counts[c->ncounts++] = strtol(p, NULL, 10);
        p = next_tok(p);
      }
    } else if (strncmp(line, "event ", 6) == 0) {
      exa_sse_event ev;
      str t = unhex(arg), d = unhex(next_tok(arg)), id = unhex(next_tok(next_tok(arg)));
      ev.type = t.s, ev.type_len = t.n, ev.data = d.s, ev.data_len = d.n, ev.id = id.s, ev.id_len = id.n;
      ev.retry = strtol(next_tok(next_tok(next_tok(arg))), NULL, 10);
      rec_event(&c->want, &ev);
      free(t.s), free(d.s), free(id.s);
    } else if (strncmp(line, "comment ", 8) == 0) {
      str t = unhex(arg);
      rec_comment(&c->want, t.s, t.n);
      free(t.s);
    } else if (strncmp(line, "last ", 5) == 0) {
      last = unhex(arg);
    } else if (strncmp(line, "retry ", 6) == 0) {
      rec_end(&c->want, 0, last.s, last.n, strtol(arg, NULL, 10), 0);
      free(last.s);
      last.s = NULL;
    }
  }
  free(line);
  fclose(f);
  *ncases = n;
  return cases;
}

static void free_cases(tcase *cases, size_t n) {
  size_t i, j;
  for (i = 0; i < n; i++) {
    for (j = 0; j < cases[i].nchunks; j++) free(cases[i].chunks[j].s);
    free(cases[i].chunks);
    free(cases[i].counts);
    rec_free(&cases[i].want);
  }
  free(cases);
}

/* ---- running the framer ------------------------------------------------- */

static unsigned long long rng_state;
static size_t rnd(size_t n) { /* 0..n-1, xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (size_t)((rng_state * 2685821657736338717ull) >> 33) % n;
}

static int bounds_held(const exa_sse *p) {
  return p->line_cap <= p->max_line && p->data_cap <= p->max_event && p->type_cap <= p->max_line &&
         p->id_cap <= p->max_line && p->last_id_cap <= p->max_line && p->line_len <= p->max_line &&
         p->data_len <= p->max_event;
}

/* Feed s cut at cuts[0..ncuts) (ascending); record into r; counts[i] = events
 * after chunk i.  Returns 0 if a bound was ever broken. */
static int run(const char *s, size_t n, const size_t *cuts, size_t ncuts, size_t max_line,
               size_t max_event, int comments, rec *r, size_t *counts) {
  exa_sse p;
  size_t i, from = 0, last_len;
  const char *last;
  int rc = 0, held = 1, partial;
  exa_sse_init(&p, max_line, max_event);
  if (comments) p.on_comment = rec_comment;
  rec_reset(r);
  for (i = 0; i <= ncuts; i++) {
    size_t to = i < ncuts ? cuts[i] : n;
    int frc = exa_sse_feed(&p, s + from, to - from, rec_event, r);
    held &= bounds_held(&p);
    if (frc && !rc) rc = frc;
    if (counts) counts[i] = r->events;
    from = to;
  }
  partial = exa_sse_finish(&p);
  held &= bounds_held(&p);
  last = exa_sse_last_id(&p, &last_len);
  rec_end(r, rc, last, last_len, exa_sse_retry(&p), partial);
  exa_sse_free(&p);
  exa_sse_free(&p); /* idempotent */
  return held;
}

static void run_ref(const char *s, size_t n, size_t max_line, size_t max_event, rec *r) {
  sse_ref_result res;
  rec_reset(r);
  sse_ref_parse(s, n, max_line, max_event, rec_event, rec_comment, r, &res);
  rec_end(r, res.rc, res.last_id ? res.last_id : "", res.last_id_len, res.retry, res.partial);
  sse_ref_result_free(&res);
}

static size_t random_cuts(size_t n, size_t *cuts, size_t max) {
  size_t k, i, m = 0;
  if (n < 2) return 0;
  k = 1 + rnd(max);
  for (i = 0; i < k; i++) cuts[m++] = 1 + rnd(n - 1);
  /* sort + unique (insertion sort: k is small) */
  for (i = 1; i < m; i++) {
    size_t v = cuts[i], j = i;
    while (j > 0 && cuts[j - 1] > v) cuts[j] = cuts[j - 1], j--;
    cuts[j] = v;
  }
  for (i = k = 0; i < m; i++)
    if (k == 0 || cuts[i] != cuts[k - 1]) cuts[k++] = cuts[i];
  return k;
}

/* ---- the conformance cases ---------------------------------------------- */

static void conformance(tcase *c) {
  char *whole;
  size_t n = 0, i, k, *cuts, *counts;
  rec got = {{0}, {0}, 0, 0, 0, 0, 0}, ref = {{0}, {0}, 0, 0, 1, 0, 0}, got2 = {{0}, {0}, 0, 0, 1, 0, 0};
  int ok, held;

  for (i = 0; i < c->nchunks; i++) n += c->chunks[i].n;
  whole = (char *)malloc(n + 1);
  cuts = (size_t *)malloc((n + c->nchunks + 64) * sizeof *cuts); /* random_cuts: up to 12 */
  counts = (size_t *)malloc((n + c->nchunks + 2) * sizeof *counts);
  for (i = n = 0; i < c->nchunks; i++) {
    memcpy(whole + n, c->chunks[i].s, c->chunks[i].n);
    n += c->chunks[i].n;
    if (i + 1 < c->nchunks) cuts[i] = n;
  }

  /* the reference agrees with the case (it is the judge of everything below) */
  ref.order = 0;
  run_ref(whole, n, 0, 0, &ref);
  check(rec_same(&ref, &c->want), "%s: the reference parser disagrees with the case", c->name);
  ref.order = 1;
  run_ref(whole, n, 0, 0, &ref);

  /* as given, with the count after each chunk */
  held = run(whole, n, cuts, c->nchunks - 1, 0, 0, 1, &got, counts);
  ok = rec_same(&got, &c->want) && held && c->ncounts == c->nchunks;
  for (i = 0; ok && i < c->nchunks; i++) ok = (long)counts[i] == c->counts[i];
  check(ok, "%s: as given", c->name);

  held = run(whole, n, NULL, 0, 0, 0, 1, &got, NULL);
  check(rec_same(&got, &c->want) && held, "%s: whole", c->name);

  for (i = 0; i + 1 < n; i++) cuts[i] = i + 1;
  held = run(whole, n, cuts, n ? n - 1 : 0, 0, 0, 1, &got, NULL);
  check(rec_same(&got, &c->want) && held, "%s: one byte at a time", c->name);

  /* every single cut, with comment order checked against the reference */
  ok = 1;
  for (i = 1; ok && i < n; i++) {
    cuts[0] = i;
    ok = run(whole, n, cuts, 1, 0, 0, 1, &got, NULL) && rec_same(&got, &c->want) &&
         run(whole, n, cuts, 1, 0, 0, 1, &got2, NULL) && rec_same(&got2, &ref);
  }
  check(ok, "%s: cut at %lu", c->name, (unsigned long)(i - 1));

  ok = 1;
  for (i = 0; ok && i < 50; i++) {
    k = random_cuts(n, cuts, 12);
    ok = run(whole, n, cuts, k, 0, 0, 1, &got, NULL) && rec_same(&got, &c->want);
  }
  check(ok, "%s: random chunking %lu", c->name, (unsigned long)i);

  /* tight bounds: the framer fails exactly where the reference does */
  ok = 1;
  for (i = 0; ok && i < 40; i++) {
    static const size_t lim[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 64, 2048, 2049, 2050};
    size_t ml = lim[rnd(sizeof lim / sizeof lim[0])], me = lim[rnd(sizeof lim / sizeof lim[0])];
    run_ref(whole, n, ml, me, &ref);
    k = random_cuts(n, cuts, 12);
    ok = run(whole, n, cuts, i % 4 ? k : 0, ml, me, 1, &got2, NULL) && rec_same(&got2, &ref);
    if (!ok) printf("  (max_line %lu, max_event %lu)\n", (unsigned long)ml, (unsigned long)me);
  }
  check(ok, "%s: tight bounds agree with the reference", c->name);

  rec_free(&got);
  rec_free(&got2);
  rec_free(&ref);
  free(whole);
  free(cuts);
  free(counts);
}

/* ---- random streams against the reference ------------------------------- */

static void random_streams(int count) {
  static const char *tok[] = {"data", "data:", "data: ", "event:", "event: x", "id:", "id: ", "id: 7",
                              "retry:", "retry: 15", "retry:9x", "123", "x", " ", ":", ": c", "\r",
                              "\n", "\r\n", "\n\n", "\r\r", "\0", "\xEF\xBB\xBF", "\xEF", "\xBB",
                              "\xBF", "\xE2\x80\xA6", "foo:bar", "\t", "99999999999999999999"};
  static const size_t lim[] = {0, 1, 2, 3, 5, 8, 13, 32, 100};
  char s[1024];
  size_t cuts[64];
  rec got = {{0}, {0}, 0, 0, 1, 0, 0}, ref = {{0}, {0}, 0, 0, 1, 0, 0}, got1 = {{0}, {0}, 0, 0, 1, 0, 0};
  int i, bad = 0;
  got.extra = ref.extra = got1.extra = 1; /* has_id and partial too */
  for (i = 0; i < count; i++) {
    size_t n = 0, t, ntok = 1 + rnd(60), k, ml = lim[rnd(9)], me = lim[rnd(9)], j;
    for (t = 0; t < ntok; t++) {
      const char *w = tok[rnd(sizeof tok / sizeof tok[0])];
      size_t wl = w[0] ? strlen(w) : 1; /* the "\0" token is one NUL byte */
      if (n + wl > sizeof s) break;
      memcpy(s + n, w, wl);
      n += wl;
    }
    run_ref(s, n, ml, me, &ref);
    k = random_cuts(n, cuts, 20);
    if (!run(s, n, cuts, k, ml, me, 1, &got, NULL) || !rec_same(&got, &ref)) bad++;
    for (j = 0; j + 1 < n && j < 64; j++) cuts[j] = j + 1;
    if (n <= 65 && (!run(s, n, cuts, n ? n - 1 : 0, ml, me, 1, &got1, NULL) || !rec_same(&got1, &ref))) bad++;
    if (bad == 1) {
      printf("  random stream %d differs (max_line %lu, max_event %lu): ", i, (unsigned long)ml,
             (unsigned long)me);
      for (j = 0; j < n; j++) printf("%02x", (unsigned char)s[j]);
      printf("\n");
      bad++;
    }
  }
  check(bad == 0, "random streams against the reference");
  rec_free(&got);
  rec_free(&got1);
  rec_free(&ref);
}

/* ---- the paths the cases do not reach ----------------------------------- */

static void feed_str(exa_sse *p, const char *s, rec *r, int *rc) {
  *rc = exa_sse_feed(p, s, strlen(s), rec_event, r);
}

static void special(void) {
  exa_sse p;
  rec r = {{0}, {0}, 0, 0, 0, 0, 0};
  int rc;
  size_t len;
  long k;

  /* a callback that asks to stop: ESTOP at once, sticky */
  exa_sse_init(&p, 0, 0);
  r.stop_at = 1;
  feed_str(&p, "data: a\n\ndata: b\n\n", &r, &rc);
  check(rc == EXA_SSE_ESTOP && r.events == 1, "stop: ESTOP after the first event");
  feed_str(&p, "data: c\n\n", &r, &rc);
  check(rc == EXA_SSE_ESTOP && r.events == 1, "stop: sticky");
  exa_sse_free(&p);
  rec_reset(&r);
  r.stop_at = 0;

  /* defaults, strerror, free then init again */
  exa_sse_init(&p, 0, 0);
  check(p.max_line == (size_t)16 << 20 && p.max_event == (size_t)16 << 20, "init: 16 MiB default bounds");
  check(p.max_line == EXA_SSE_DEFAULT_MAX_LINE && p.max_event == EXA_SSE_DEFAULT_MAX_EVENT &&
            exa_sse_retry(&p) == -1 && strcmp(exa_sse_last_id(&p, &len), "") == 0 && len == 0,
        "init: defaults");
  check(strcmp(exa_sse_strerror(EXA_SSE_ELINE), "line exceeds max_line") == 0 &&
            strcmp(exa_sse_strerror(99), "unknown error") == 0,
        "strerror");
  exa_sse_free(&p);
  exa_sse_free(&p);

  /* finish starts a new stream: BOM stripped again, id and retry carried */
  exa_sse_init(&p, 0, 0);
  feed_str(&p, "\xEF\xBB\xBFid: 1\nretry: 5\ndata: a\n\nid: 2\ndata: b", &r, &rc);
  exa_sse_finish(&p);
  feed_str(&p, "\xEF\xBB", &r, &rc);
  feed_str(&p, "\xBF" "data: c\n\n", &r, &rc);
  exa_sse_last_id(&p, &len);
  check(rc == 0 && r.events == 2 && len == 1 && exa_sse_last_id(&p, NULL)[0] == '1' && exa_sse_retry(&p) == 5,
        "finish: new stream, id and retry carried");
  exa_sse_free(&p);
  rec_reset(&r);

  /* finish reports what it dropped: a partial line, a block with a field, a BOM's first bytes */
  {
    static const struct {
      const char *s;
      int partial;
    } ends[] = {{"", 0},          {"data: a\n\n", 0},  {"data: a\n\ndata: b", 1}, {"data: a\n", 1},
                {"id: 3\n", 1},   {"retry: 5\n", 1},   {"foo\n", 1},               {": ping\n", 0},
                {"data: a\r", 1}, {"data: a\r\n\r", 0}, {"\xEF\xBB", 1},           {"\xEF\xBB\xBF", 0},
                {": c", 1},        {"event: x\n\n", 0}};
    size_t e;
    for (e = 0; e < sizeof ends / sizeof ends[0]; e++) {
      int partial;
      exa_sse_init(&p, 0, 0);
      feed_str(&p, ends[e].s, &r, &rc);
      partial = exa_sse_finish(&p);
      check(rc == 0 && partial == ends[e].partial && exa_sse_finish(&p) == 0, "finish: partial after \"%s\"",
            ends[e].s);
      exa_sse_free(&p);
      rec_reset(&r);
    }
  }

  /* has_id: the block's own id field, an empty one too (it resets the last event id) */
  {
    static const char *expect = "HhH";
    exa_sse_init(&p, 0, 0);
    r.extra = 1;
    feed_str(&p, "id: 5\ndata: a\n\ndata: b\n\nid:\ndata: c\n\n", &r, &rc);
    exa_sse_last_id(&p, &len);
    check(rc == 0 && r.events == 3 && len == 0, "empty id resets the last event id");
    {
      size_t off = 0, ev;
      int ok = 1;
      for (ev = 0; ev < 3; ev++) { /* T, D, I strings, retry, then the has_id byte */
        int f;
        for (f = 0; f < 3; f++) {
          size_t n;
          memcpy(&n, r.ev.b + off + 1, sizeof n);
          off += 1 + sizeof n + n;
        }
        off += sizeof(long);
        ok &= r.ev.b[off++] == expect[ev];
      }
      check(ok, "has_id per event");
    }
    r.extra = 0;
    exa_sse_free(&p);
    rec_reset(&r);
  }

  /* a pending CR survives empty feeds */
  exa_sse_init(&p, 0, 0);
  feed_str(&p, "data: a\r", &r, &rc);
  feed_str(&p, "", &r, &rc);
  feed_str(&p, "\n", &r, &rc);
  check(r.events == 0, "CR then empty feed then LF is one line end");
  feed_str(&p, "\n", &r, &rc);
  check(r.events == 1, "... and the next LF is the blank line");
  exa_sse_free(&p);
  rec_reset(&r);

  /* allocation failure anywhere: ENOMEM, sticky, nothing leaks (ASan/valgrind) */
  for (k = 0; k < 40; k++) {
    static const char *chunks[] = {"\xEF\xBB", "\xBF" "event: e\nid: 12", "34\ndata: ", "x\ndata: y\n",
                                   "\n: c\ndata: zz", "zz\n\nid: 5\n\n"};
    size_t c;
    int seen = 0;
    exa_sse_init(&p, 0, 0);
    alloc_count = 0;
    alloc_fail_at = k;
    for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
      feed_str(&p, chunks[c], &r, &rc);
      if (rc) seen = rc;
      if (seen && rc != seen) break;
    }
    alloc_fail_at = -1;
    check(seen == 0 ? r.events == 2 : seen == EXA_SSE_ENOMEM && p.failed == EXA_SSE_ENOMEM,
          "allocation failure %ld: rc %d", k, seen);
    exa_sse_free(&p);
    rec_reset(&r);
  }
  rec_free(&r);
}

int main(int argc, char **argv) {
  size_t n, i;
  tcase *cases;
  if (argc != 2) {
    fprintf(stderr, "usage: sse_test cases.txt\n");
    return 2;
  }
  rng_state = 0x9E3779B97F4A7C15ull;
  cases = load_cases(argv[1], &n);
  check(n >= 60, "loaded %lu cases", (unsigned long)n);
  for (i = 0; i < n; i++) conformance(&cases[i]);
  random_streams(getenv("SSE_TEST_RANDOM") ? atoi(getenv("SSE_TEST_RANDOM")) : 20000);
  special();
  free_cases(cases, n);
  printf("%lu cases: %d passed, %d failed\n", (unsigned long)n, passed, failed);
  return failed ? 1 : 0;
}
