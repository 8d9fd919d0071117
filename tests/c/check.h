/*
 * check.h - the harness the C tests share: check() counts an assertion and
 * prints the first CHECK_MAX_PRINT failures; test_realloc/test_malloc route
 * the code under test through a failure injector (the allocation numbered
 * alloc_fail_at fails; -1: none); check_slurp reads an input file whole.
 * Each test includes this once, then the sources under test between
 * "#define realloc test_realloc" and "#undef".
 */
#ifndef EXA_TEST_CHECK_H
#define EXA_TEST_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef CHECK_MAX_PRINT
#define CHECK_MAX_PRINT 60
#endif

static long alloc_fail_at = -1, alloc_count;
static inline void *test_realloc(void *p, size_t n) {
  if (alloc_fail_at >= 0 && alloc_count++ == alloc_fail_at) return NULL;
  return realloc(p, n);
}
static inline void *test_malloc(size_t n) { return test_realloc(NULL, n); }

static int passed, failed;

static void check(int ok, const char *fmt, ...) {
  va_list ap;
  if (ok) {
    passed++;
    return;
  }
  failed++;
  if (failed > CHECK_MAX_PRINT) return;
  fputs("FAIL: ", stdout);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  fputc('\n', stdout);
}

/* The whole file at path (*n bytes; the buffer is the caller's to free), or
 * NULL when it cannot be opened.  Plain realloc: not the injector's. */
static inline char *check_slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  char *b = NULL;
  size_t cap = 0, got;
  *n = 0;
  if (f == NULL) return NULL;
  do {
    if (*n + 65536 > cap) {
      cap = (*n + 65536) * 2;
      b = (char *)realloc(b, cap);
      if (b == NULL) abort();
    }
    got = fread(b + *n, 1, cap - *n, f);
    *n += got;
  } while (got > 0);
  fclose(f);
  return b;
}

#endif
