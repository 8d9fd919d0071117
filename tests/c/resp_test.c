/*
 * resp_test.c - resp.c (one HTTP response: head, body, event queue) in C, no
 * curl, no Lua: the head parser's rules and bounds, the body bound, the event
 * queue's accounting and backpressure, allocation failure anywhere; then
 * every file named on the command line (the .http files of fuzz/corpus/hostile) replayed
 * as curl would hand it over, under several chunkings and bounds, each run
 * agreeing with the others and keeping every invariant.
 *
 *   resp_test [response files...]
 *
 * Prints failures, then "N passed, M failed"; exits 1 on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* The code under test, its allocations through the failure injector. */
#define realloc test_realloc
#define malloc test_malloc
#include "sse.c"
#include "resp.c"
#undef realloc
#undef malloc

#include "resp_replay.h"

#define BODY(r, lit) exa_resp_body((r), (lit), strlen(lit))

static exa_resp_cfg cfg_of(int want_sse, size_t max_body, size_t max_queued) {
  exa_resp_cfg c;
  memset(&c, 0, sizeof c);
  c.want_sse = want_sse;
  c.max_body = max_body;
  c.max_queued = max_queued;
  return c;
}

/* Feed the head lines of s (split after each LF). */
static int head(exa_resp *r, const char *s) {
  int rc = 0;
  while (*s && rc == 0) {
    const char *nl = strchr(s, '\n');
    size_t n = nl ? (size_t)(nl - s) + 1 : strlen(s);
    rc = exa_resp_header(r, s, n);
    s += n;
  }
  return rc;
}

static const char *hget(const exa_resp *r, const char *name) {
  size_t n;
  const char *v = exa_resp_header_get(r, name, &n);
  return v ? v : "(none)";
}

/* A head of exactly total bytes: status line, header lines, blank line. */
static int fill_head(exa_resp *r, size_t total) {
  static char line[2048];
  size_t left = total - 17 - 2;
  int rc = head(r, "HTTP/1.1 200 OK\r\n");
  while (rc == 0 && left > 0) {
    size_t k = left > 2048 ? 1024 : left > 1024 ? left / 2 : left;
    memset(line, 'h', k);
    memcpy(line, "X-H: ", 5);
    line[k - 2] = '\r';
    line[k - 1] = '\n';
    rc = exa_resp_header(r, line, k);
    left -= k;
  }
  if (rc == 0) rc = exa_resp_header(r, "\r\n", 2);
  return rc;
}

static void test_head(void) {
  exa_resp r;
  exa_resp_cfg c = cfg_of(0, 0, 0);
  size_t i;

  exa_resp_init(&r, &c);
  check(head(&r, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Pad: \t padded \t\r\nX-Empty:\r\n"
                 "X-Multi: a\r\nX-MULTI: b\r\nX-Fold: one\r\n two\r\n\t three \r\n\r\n") == 0 &&
            r.head_done && r.status == 200 && !r.is_sse,
        "head: a plain head");
  check(strcmp(hget(&r, "content-type"), "text/plain") == 0, "head: names lower-cased");
  check(strcmp(hget(&r, "x-pad"), "padded") == 0 && strcmp(hget(&r, "x-empty"), "") == 0, "head: values trimmed");
  check(strcmp(hget(&r, "x-fold"), "one two three") == 0, "head: folded lines unfolded: %s", hget(&r, "x-fold"));
  check(strcmp(hget(&r, "x-multi"), "a") == 0, "head: the first of a repeated name");
  check(head(&r, "X-Trailer: late\r\n") == 0 && strcmp(hget(&r, "x-trailer"), "(none)") == 0, "head: trailers ignored");
  exa_resp_free(&r);

  exa_resp_init(&r, &c);
  check(head(&r, "HTTP/1.1 200 OK\r\n x-folded: AAAA\r\n") == -1 && r.ek == EXA_EK_TRANSPORT &&
            strstr(r.emsg, "folded line with no header before it") != NULL,
        "head: a folded first line is malformed (%s)", r.emsg);
  check(exa_resp_header(&r, "X: y\r\n", 6) == -1, "head: failure is sticky");
  exa_resp_free(&r);

  /* a fold of a header that frames the body is refused, as libcurl refuses it */
  exa_resp_init(&r, &c);
  check(head(&r, "HTTP/1.1 200 OK\r\nContent-Length:\r\n 2\r\n") == -1 && r.ek == EXA_EK_TRANSPORT &&
            strstr(r.emsg, "folded Content-Length or Transfer-Encoding") != NULL,
        "head: a folded Content-Length is malformed (%s)", r.emsg);
  exa_resp_free(&r);
  exa_resp_init(&r, &c);
  check(head(&r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,\r\n chunked\r\n") == -1 &&
            r.ek == EXA_EK_TRANSPORT, "head: a folded Transfer-Encoding is malformed");
  exa_resp_free(&r);
  /* a connection known to speak HTTP/1 only (plain http) must answer HTTP/1.x */
  {
    exa_resp_cfg h1 = cfg_of(0, 0, 0);
    h1.h1_only = 1;
    exa_resp_init(&r, &h1);
    check(exa_resp_header(&r, "HTTP/2 200\r\n", 12) == -1 && r.ek == EXA_EK_TRANSPORT,
          "head: HTTP/2 status line on an HTTP/1 connection is malformed");
    exa_resp_free(&r);
    exa_resp_init(&r, &h1);
    check(exa_resp_header(&r, "HTTP/1.0 200 OK\r\n", 17) == 0, "head: HTTP/1.0 on an HTTP/1 connection");
    exa_resp_free(&r);
    exa_resp_init(&r, &c);
    check(exa_resp_header(&r, "HTTP/2 200\r\n", 12) == 0, "head: HTTP/2 where the connection may be HTTP/2");
    exa_resp_free(&r);
  }
  /* NUL anywhere in the status line, reason phrase included */
  exa_resp_init(&r, &c);
  check(exa_resp_header(&r, "HTTP/1.1 200 O\0K\r\n", 17) == -1 && r.ek == EXA_EK_TRANSPORT,
        "head: a NUL in the reason phrase is malformed");
  exa_resp_free(&r);

  /* a fold after an interim head's headers does not reach into them */
  exa_resp_init(&r, &c);
  check(head(&r, "HTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 200 OK\r\n\tcont\r\n") == -1 &&
            r.ek == EXA_EK_TRANSPORT && r.interim == 1,
        "head: a fold right after the final status line is malformed");
  exa_resp_free(&r);

  {
    static const char *bad[] = {"HTTP/1.1 200 OK\r\nX-Nu\0ll: v\r\n", "X-Before: status\r\n", "HTTP/1.1 2x0 OK\r\n",
                                "HTTP/1.1 20 OK\r\n", "HTTP/1.1 2000 OK\r\n", "SIP/2.0 200 OK\r\n",
                                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
                                /* RFC 9112 4 and 5.1; curl refuses the no-colon line too ("Header without colon") */
                                "HTTP/1.1 000 OK\r\n", "HTTP/1.1 099 OK\r\n", "HTTP/1.1 600 OK\r\n",
                                "HTTP/1.1 200OK\r\n", "HTTP/1.1 4040 Not Found\r\n",
                                "HTTP/1.1 200 OK\r\nName : v\r\n", "HTTP/1.1 200 OK\r\nName\t: v\r\n",
                                "HTTP/1.1 200 OK\r\nno colon line\r\n", "HTTP/1.1 200 OK\r\n: no name\r\n"};
    static const size_t len[] = {30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      int rc;
      exa_resp_init(&r, &c);
      if (len[i]) {
        rc = exa_resp_header(&r, bad[i], 17);
        if (rc == 0) rc = exa_resp_header(&r, bad[i] + 17, len[i] - 17);
      } else {
        rc = head(&r, bad[i]);
      }
      check(rc == -1 && r.ek == EXA_EK_TRANSPORT && strncmp(r.emsg, "malformed response head", 23) == 0 && !r.head_done,
            "head: malformed case %lu (%s)", (unsigned long)i, r.emsg);
      exa_resp_free(&r);
    }
  }

  exa_resp_init(&r, &c);
  check(head(&r, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n") == 0 && r.head_done,
        "head: a repeated identical Content-Length is fine");
  exa_resp_free(&r);

  exa_resp_init(&r, &c);
  check(head(&r, "HTTP/1.1 100 Continue\r\nX-I: 1\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: y\r\n\r\n"
                 "HTTP/2 201 \r\nX-F: 2\r\n\r\n") == 0 &&
            r.head_done && r.status == 201 && r.interim == 2 && strcmp(hget(&r, "x-i"), "(none)") == 0 &&
            strcmp(hget(&r, "link"), "(none)") == 0 && strcmp(hget(&r, "x-f"), "2") == 0,
        "head: interim heads forgotten");
  exa_resp_free(&r);

  exa_resp_init(&r, &c);
  check(head(&r, "HTTP/1.1 101 Switching Protocols\r\n\r\n") == 0 && r.head_done && r.status == 101,
        "head: 101 is a final head");
  exa_resp_free(&r);

  /* the bound: every head line counts, the status line and the blank line too */
  exa_resp_init(&r, &c);
  check(fill_head(&r, EXA_RESP_MAX_HEAD) == 0 && r.head_done && r.head_bytes == EXA_RESP_MAX_HEAD,
        "bound: a head of exactly 256 KiB is taken (%lu)", (unsigned long)r.head_bytes);
  check(exa_resp_header(&r, "T: 1\r\n", 6) == -1 && r.ek == EXA_EK_TOO_LARGE, "bound: a trailer past it is too_large");
  exa_resp_free(&r);
  exa_resp_init(&r, &c);
  check(fill_head(&r, EXA_RESP_MAX_HEAD + 1) == -1 && !r.head_done && r.ek == EXA_EK_TOO_LARGE &&
            strstr(r.emsg, "262144") != NULL,
        "bound: one byte more is too_large (%s)", r.emsg);
  exa_resp_free(&r);
  exa_resp_init(&r, &c);
  {
    int rc = 0, rounds = 0;
    while (rc == 0 && rounds < 100000) {
      rc = head(&r, "HTTP/1.1 100 Continue\r\n\r\n");
      rounds++;
    }
    check(rc == -1 && r.ek == EXA_EK_TOO_LARGE && strstr(r.emsg, "262144") && !r.head_done,
          "bound: a 1xx storm is too_large after %d heads", rounds);
  }
  exa_resp_free(&r);
  exa_resp_init(&r, &c);
  {
    static char big[300000];
    memset(big, 'B', sizeof big);
    memcpy(big, "X-Big: ", 7);
    check(head(&r, "HTTP/1.1 200 OK\r\n") == 0 && exa_resp_header(&r, big, sizeof big) == -1 && r.ek == EXA_EK_TOO_LARGE,
          "bound: one 300 KB line is too_large");
  }
  exa_resp_free(&r);
}

static void test_body(void) {
  exa_resp r;
  exa_resp_cfg c = cfg_of(0, 10, 0);
  exa_resp_init(&r, &c);
  check(BODY(&r, "x") == EXA_RESP_FAIL && r.ek == EXA_EK_TRANSPORT, "body: bytes before the head fail");
  exa_resp_free(&r);

  exa_resp_init(&r, &c);
  head(&r, "HTTP/1.1 200 OK\r\n\r\n");
  check(BODY(&r, "01234") == EXA_RESP_OK && BODY(&r, "56789") == EXA_RESP_OK &&
            r.body.len == 10,
        "body: up to max_body");
  check(BODY(&r, "") == EXA_RESP_OK, "body: an empty write is nothing");
  check(BODY(&r, "a") == EXA_RESP_FAIL && r.ek == EXA_EK_TOO_LARGE && r.body.len == 10,
        "body: past max_body is too_large");
  exa_resp_free(&r);

  /* want_sse: only a 2xx text/event-stream is framed */
  {
    static const struct {
      const char *head;
      int sse;
    } h[] = {{"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n", 1},
             {"HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream ; charset=utf-8\r\n\r\n", 1},
             {"HTTP/1.1 401 No\r\nContent-Type: text/event-stream\r\n\r\n", 0},
             {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n", 0},
             {"HTTP/1.1 200 OK\r\n\r\n", 0}};
    size_t i;
    for (i = 0; i < sizeof h / sizeof h[0]; i++) {
      c = cfg_of(1, 0, 0);
      exa_resp_init(&r, &c);
      head(&r, h[i].head);
      check(r.head_done && r.is_sse == h[i].sse, "sse: detection %lu", (unsigned long)i);
      exa_resp_free(&r);
      c = cfg_of(0, 0, 0);
      exa_resp_init(&r, &c);
      head(&r, h[i].head);
      check(r.head_done && !r.is_sse, "sse: never without want_sse %lu", (unsigned long)i);
      exa_resp_free(&r);
    }
  }
}

static void test_queue(void) {
  exa_resp r;
  exa_resp_cfg c = cfg_of(1, 0, 400);
  const exa_ev *e;
  int rc, n = 0;
  exa_resp_init(&r, &c);
  head(&r, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n");
  rc = BODY(&r, "id: 1\ndata: a\n\ndata: b\n\nid:\ndata: c\n\n");
  check(rc == EXA_RESP_OK && r.nevents == 3, "queue: three events");
  e = exa_resp_peek(&r);
  check(e && e->has_id && e->id_len == 1 && e->next && !e->next->has_id && e->next->id_len == 1 && e->next->next &&
            e->next->next->has_id && e->next->next->id_len == 0,
        "queue: has_id kept, an empty id resets the last one");
  check(r.queued == 3 * sizeof(exa_ev) + (7 + 1 + 1) * 2 + (7 + 1), "queue: bytes counted (%lu)",
        (unsigned long)r.queued);
  while (exa_resp_peek(&r)) exa_resp_drop(&r);
  exa_resp_drop(&r); /* on an empty queue: nothing */
  check(r.queued == 0 && r.qtail == NULL, "queue: drained");

  /* backpressure: past max_queued the bytes are refused, not taken */
  while (n < 1000 && (rc = BODY(&r, "data: 0123456789\n\n")) == EXA_RESP_OK) n++;
  check(rc == EXA_RESP_PAUSE && r.queued >= 400 && r.queued_peak == r.queued && !exa_resp_can_resume(&r),
        "queue: PAUSE at max_queued after %d events", n);
  check(BODY(&r, "data: x\n\n") == EXA_RESP_PAUSE && (int)r.nevents == 3 + n, "queue: refused bytes are not framed");
  while (!exa_resp_can_resume(&r)) exa_resp_drop(&r);
  check(r.queued <= 200 && BODY(&r, "data: y\n\n") == EXA_RESP_OK, "queue: flows again at half");
  check(BODY(&r, "data: unterminated") == EXA_RESP_OK, "queue: a partial block");
  exa_resp_end(&r);
  exa_resp_end(&r); /* once */
  check(r.ended && r.partial && r.sse.line == NULL, "end: partial, framer freed");
  check(BODY(&r, "x") == EXA_RESP_FAIL, "end: no body after the end");
  exa_resp_free(&r);

  c = cfg_of(1, 0, 0);
  exa_resp_init(&r, &c);
  head(&r, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n");
  BODY(&r, "data: a\n\n: bye\n");
  exa_resp_end(&r);
  check(r.ended && !r.partial && r.nevents == 1, "end: clean");
  exa_resp_free(&r);

  c = cfg_of(1, 0, 0);
  c.max_line = 8;
  exa_resp_init(&r, &c);
  head(&r, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n");
  check(BODY(&r, "data: a\n\ndata: 123456789\n") == EXA_RESP_FAIL && r.ek == EXA_EK_SSE &&
            strstr(r.emsg, "max_line (8 bytes)") && r.nevents == 1,
        "sse: a bound is an sse error, events before it kept (%s)", r.emsg);
  exa_resp_free(&r);
}

/* Allocation failure anywhere: the response fails with a reason, nothing leaks. */
static void test_nomem(void) {
  long k;
  for (k = 0; k < 60; k++) {
    exa_resp r;
    exa_resp_cfg c = cfg_of(1, 0, 0);
    int seen_fail = 0;
    exa_resp_init(&r, &c);
    alloc_count = 0;
    alloc_fail_at = k;
    if (head(&r, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-A: 1\r\n 2\r\n\r\n") != 0) seen_fail = 1;
    if (!seen_fail && BODY(&r, "id: 1\ndata: a\n\ndata: b\ndata: c\n\nevent: e\ndata: ") != EXA_RESP_OK)
      seen_fail = 1;
    if (!seen_fail && BODY(&r, "zz\n\n") != EXA_RESP_OK) seen_fail = 1;
    alloc_fail_at = -1;
    check(seen_fail ? r.ek != EXA_EK_NONE && r.emsg[0] != '\0' : r.nevents == 3, "nomem %ld: %s", k, r.emsg);
    exa_resp_free(&r);
  }
  {
    exa_resp r;
    exa_resp_cfg c = cfg_of(0, 0, 0);
    for (k = 0; k < 4; k++) {
      int rc;
      exa_resp_init(&r, &c);
      head(&r, "HTTP/1.1 200 OK\r\n\r\n");
      alloc_count = 0;
      alloc_fail_at = k;
      rc = BODY(&r, "some body");
      alloc_fail_at = -1;
      check(rc == EXA_RESP_OK || (r.ek == EXA_EK_TRANSPORT && strstr(r.emsg, "out of memory")), "nomem body %ld", k);
      exa_resp_free(&r);
    }
  }
  check(strcmp(exa_kind_name(EXA_EK_TOO_LARGE), "too_large") == 0 && strcmp(exa_kind_name(99), "transport") == 0,
        "kind names");
}

/* One hostile response: under each config, every chunking gives the same record. */
static void replay_file(const char *path) {
  static const size_t queues[] = {0, 64, 4096};
  static const size_t lines[] = {0, 16, 65536};
  rec a = {{0}, {0}, 0, 0, 0, 0, 1}, b = {{0}, {0}, 0, 0, 0, 0, 1};
  size_t n, qi, li;
  int sse, ok = 1;
  char *s = check_slurp(path, &n);
  if (s == NULL) {
    check(0, "%s: unreadable", path);
    return;
  }
  for (sse = 0; sse <= 1; sse++)
    for (qi = 0; qi < 3; qi++)
      for (li = 0; li < 3; li++) {
        exa_resp_cfg c = cfg_of(sse, li == 1 ? 1000 : 0, queues[qi]);
        replay_stats st;
        unsigned seed;
        c.max_line = lines[li];
        c.max_event = lines[li];
        st = replay(s, n, &c, REPLAY_WHOLE, 0, &a);
        ok &= st.ok;
        if (st.body_bytes <= 4096) {
          ok &= replay(s, n, &c, REPLAY_BYTES, 0, &b).ok && rec_same(&a, &b);
          if (!rec_same(&a, &b)) printf("  %s: one byte at a time differs (sse %d q %lu l %lu)\n", path, sse,
                                        (unsigned long)queues[qi], (unsigned long)lines[li]);
        }
        for (seed = 1; seed <= 8; seed++) {
          ok &= replay(s, n, &c, REPLAY_RANDOM, seed * 97, &b).ok && rec_same(&a, &b);
          if (!rec_same(&a, &b)) printf("  %s: chunking %u differs\n", path, seed);
        }
      }
  check(ok, "%s: replay", path);
  rec_free(&a);
  rec_free(&b);
  free(s);
}

int main(int argc, char **argv) {
  int i;
  test_head();
  test_body();
  test_queue();
  test_nomem();
  for (i = 1; i < argc; i++) replay_file(argv[i]);
  printf("%d hostile responses: %d passed, %d failed\n", argc - 1, passed, failed);
  return failed ? 1 : 0;
}
