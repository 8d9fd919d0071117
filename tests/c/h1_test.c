/*
 * h1_test.c - h1.c (the HTTP/1 response reader) in C, no socket, no Lua:
 * status lines, Content-Length and Transfer-Encoding rules, chunked decoding
 * under every split, the bounds on head lines, 1xx heads and trailers, the
 * end-of-connection cases, the keep-alive decision, the curl mode (head
 * through resp.c, raw body here), allocation failure anywhere; then every
 * file named on the command line (fuzz/corpus/hostile) read whole and byte
 * by byte with the same outcome.
 *
 *   h1_test [response files...]
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
#include "h1.c"
#undef realloc
#undef malloc


/* One read: the bytes in pieces of `split` (0: whole), then the end. */
typedef struct res {
  int ek;
  char msg[512];
  const char *code;
  long status;
  char body[256];
  size_t body_len;
  unsigned long events;
  int keep, done, partial;
} res;

static void readn(const char *s, size_t n, int sse, int is_head, size_t split, int eof, res *o) {
  exa_resp r;
  exa_h1 h;
  exa_resp_cfg c;
  size_t i = 0;
  int rc = EXA_RESP_OK;
  memset(&c, 0, sizeof c);
  c.want_sse = sse;
  exa_resp_init(&r, &c);
  r.cfg.max_queued = (size_t)-1;
  exa_h1_init(&h, &r, 1, is_head);
  while (i < n && rc == EXA_RESP_OK) {
    size_t k = split ? split : n - i;
    if (k > n - i) k = n - i;
    rc = exa_h1_feed(&h, s + i, k);
    i += k;
  }
  if (rc == EXA_RESP_OK && eof) exa_h1_eof(&h);
  memset(o, 0, sizeof *o);
  o->ek = r.ek;
  snprintf(o->msg, sizeof o->msg, "%s", r.emsg);
  o->code = h.code;
  o->status = r.head_done ? r.status : 0;
  o->body_len = r.body.len < sizeof o->body ? r.body.len : sizeof o->body;
  if (r.body.len) memcpy(o->body, r.body.p, o->body_len);
  o->events = r.nevents;
  o->keep = exa_h1_keepalive(&h);
  o->done = exa_h1_done(&h);
  o->partial = r.partial;
  exa_h1_free(&h);
  exa_resp_free(&r);
}

static void readl(const char *s, int sse, size_t split, res *o) { readn(s, strlen(s), sse, 0, split, 1, o); }

static int same(const res *a, const res *b) {
  return a->ek == b->ek && strcmp(a->msg, b->msg) == 0 && a->status == b->status && a->events == b->events &&
         a->keep == b->keep && a->done == b->done && a->partial == b->partial &&
         (a->ek != EXA_EK_NONE || (a->body_len == b->body_len && memcmp(a->body, b->body, a->body_len) == 0));
}

/* every split of s gives the same result as the whole */
static void all_splits(const char *s, int sse, res *o, const char *what) {
  size_t k;
  readl(s, sse, 0, o);
  for (k = 1; k <= 9; k++) {
    res b;
    readl(s, sse, k, &b);
    check(same(o, &b), "%s: split %lu differs (%s / %s)", what, (unsigned long)k, o->msg, b.msg);
  }
}

static void expect_ok(const char *s, long status, const char *body, const char *what) {
  res o;
  all_splits(s, 0, &o, what);
  check(o.ek == EXA_EK_NONE && o.status == status && o.done && o.body_len == strlen(body) &&
            memcmp(o.body, body, o.body_len) == 0,
        "%s: expected %ld '%s', got ek %d (%s) status %ld", what, status, body, o.ek, o.msg, o.status);
}

static void expect_err(const char *s, int ek, const char *code, const char *what) {
  res o;
  all_splits(s, 0, &o, what);
  check(o.ek == ek && ((code == NULL && o.code == NULL) || (code && o.code && strcmp(code, o.code) == 0)),
        "%s: expected ek %d code %s, got ek %d code %s (%s)", what, ek, code ? code : "-", o.ek,
        o.code ? o.code : "-", o.msg);
}

#define H200 "HTTP/1.1 200 OK\r\n"

static void test_status(void) {
  static const char *bad[] = {"HTTP/1.1 2000 OK\r\n",  "HTTP/1.1 2001 OK\r\n", "HTTP/1.1 200OK\r\n",
                              "HTTP/1.1 4040 NF\r\n",  "HTTP/1.1 5030 B\r\n",  "HTTP/1.1 000 Z\r\n",
                              "HTTP/1.1 099 L\r\n",    "HTTP/1.1 600 H\r\n",   "HTTP/1.1 20 OK\r\n"};
  static const char *notv1[] = {"HTTP/2 200 OK\r\n", "HTTP/1.1.1 200 OK\r\n", "http/1.1 200 OK\r\n",
                                "SIP/2.0 200 OK\r\n", "garbage\r\n"};
  size_t i;
  char b[256];
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(b, sizeof b, "%sContent-Length: 2\r\n\r\nok", bad[i]);
    expect_err(b, EXA_EK_TRANSPORT, NULL, bad[i]); /* resp.c's rule: "malformed response head" */
  }
  for (i = 0; i < sizeof notv1 / sizeof notv1[0]; i++) {
    snprintf(b, sizeof b, "%sContent-Length: 2\r\n\r\nok", notv1[i]);
    expect_err(b, EXA_EK_TRANSPORT, "bad_response", notv1[i]);
  }
  expect_ok("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", 200, "ok", "status without a reason");
  expect_ok("HTTP/1.1 599 X\r\nContent-Length: 2\r\n\r\nok", 599, "ok", "status 599");
  expect_ok("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 EH\r\nLink: x\r\n\r\n" H200 "Content-Length: 2\r\n\r\nok", 200,
            "ok", "1xx heads skipped");
}

static void test_length(void) {
  expect_ok(H200 "Content-Length: 010\r\n\r\n0123456789", 200, "0123456789", "010 is 10");
  expect_ok(H200 "Content-Length: 2, 02\r\nContent-Length: 2, 02\r\n\r\nok", 200, "ok", "equal lengths");
  expect_ok(H200 "Content-Length: 0\r\n\r\n", 200, "", "length 0");
  expect_err(H200 "Content-Length:\r\n\r\nok", EXA_EK_TRANSPORT, "bad_length", "empty length");
  expect_err(H200 "Content-Length: +2\r\n\r\nok", EXA_EK_TRANSPORT, "bad_length", "signed length");
  expect_err(H200 "Content-Length: -2\r\n\r\nok", EXA_EK_TRANSPORT, "bad_length", "negative length");
  expect_err(H200 "Content-Length: 1 0\r\n\r\nok", EXA_EK_TRANSPORT, "bad_length", "spaced length");
  expect_err(H200 "Content-Length: 2,\r\n\r\nok", EXA_EK_TRANSPORT, "bad_length", "trailing comma");
  expect_err(H200 "Content-Length: 2, 3\r\n\r\nok", EXA_EK_TRANSPORT, "bad_length", "a list that differs");
  expect_err(H200 "Content-Length: 99999999999999999999\r\n\r\nok", EXA_EK_TRANSPORT, "bad_length", "20 digits");
  expect_err(H200 "Content-Length: 100000000\r\n\r\n", EXA_EK_TOO_LARGE, NULL, "over max_body from the head");
  expect_err(H200 "Content-Length: 5\r\n\r\nok", EXA_EK_TRANSPORT, "closed_early", "cut short");
  expect_err(H200 "Content-Encoding: gzip\r\nContent-Length: 2\r\n\r\nok", EXA_EK_TRANSPORT, "content_encoding",
             "a content coding");
  expect_ok(H200 "Content-Encoding: identity\r\nContent-Length: 2\r\n\r\nok", 200, "ok", "identity");
}

static void test_chunked(void) {
  static const char *bad_te[] = {"notchunked", "chunked-not", "gzip, chunked", "chunked, gzip", "chunked, chunked",
                                 "gzip", ""};
  size_t i;
  char b[256];
  for (i = 0; i < sizeof bad_te / sizeof bad_te[0]; i++) {
    snprintf(b, sizeof b, H200 "Transfer-Encoding: %s\r\n\r\n2\r\nok\r\n0\r\n\r\n", bad_te[i]);
    expect_err(b, EXA_EK_TRANSPORT, "bad_coding", bad_te[i]);
  }
  expect_ok(H200 "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n3;x=\"y\"\r\n!!!\r\n0\r\n\r\n", 200, "ok!!!", "chunks");
  expect_ok(H200 "Transfer-Encoding: Chunked\r\n\r\n2\nok\n0\n\n", 200, "ok", "bare LF chunk lines");
  expect_ok(H200 "Transfer-Encoding: chunked\r\n\r\n0002  \r\nok\r\n0\r\nX-T: 1\r\n\r\n", 200, "ok",
            "leading zeros, whitespace, a trailer");
  expect_ok(H200 "Transfer-Encoding: ,chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 200, "ok", "an empty list element");
  expect_err(H200 "Transfer-Encoding: chunked\r\n\r\n0x40\r\n", EXA_EK_TRANSPORT, "bad_chunk", "0x40");
  expect_err(H200 "Transfer-Encoding: chunked\r\n\r\n00000000000000002\r\nok\r\n0\r\n\r\n", EXA_EK_TRANSPORT,
             "bad_chunk", "17 digits");
  expect_err(H200 "Transfer-Encoding: chunked\r\n\r\n\r\n", EXA_EK_TRANSPORT, "bad_chunk", "no digits");
  expect_err(H200 "Transfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n0\r\n\r\n", EXA_EK_TRANSPORT, "bad_chunk",
             "data past the size");
  expect_err(H200 "Transfer-Encoding: chunked\r\n\r\n2\rX", EXA_EK_TRANSPORT, "bad_chunk", "CR without LF");
  expect_err(H200 "Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nok", EXA_EK_TOO_LARGE, NULL,
             "16 digits: over max_body at once");
  expect_err(H200 "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n", EXA_EK_TRANSPORT, "closed_early", "no last chunk");
  {
    static char t[6000];
    snprintf(t, sizeof t, H200 "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: %04094d\r\n\r\n", 0);
    expect_err(t, EXA_EK_TRANSPORT, "bad_trailer", "a trailer line of 4 KiB + 1");
    snprintf(t, sizeof t, H200 "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: %04084d\r\n\r\n", 0);
    expect_ok(t, 200, "ok", "a trailer line of 4 KiB - 9");
  }
  {
    /* the 0x40 stream: the event before it is delivered, then the error */
    res o;
    all_splits(H200 "Content-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "9\r\ndata: a\n\n\r\n0x40\r\ndata: b\n\n\r\n0\r\n\r\n",
               1, &o, "0x40 stream");
    check(o.ek == EXA_EK_TRANSPORT && o.events == 1 && strstr(o.msg, "chunk size") != NULL,
          "0x40 stream: 1 event then a chunk error (%lu, %s)", o.events, o.msg);
  }
}

static void test_bounds(void) {
  size_t n = 300 * 1024, i;
  char *s = (char *)malloc(n + 256);
  res o;
  /* one header line over 100 KiB */
  strcpy(s, H200 "X-Big: ");
  i = strlen(s);
  memset(s + i, 'b', 101 * 1024);
  strcpy(s + i + 101 * 1024, "\r\nContent-Length: 2\r\n\r\nok");
  readl(s, 0, 0, &o);
  check(o.ek == EXA_EK_TOO_LARGE && strstr(o.msg, "head line") != NULL, "a 101 KiB header line: %s", o.msg);
  readl(s, 0, 4096, &o);
  check(o.ek == EXA_EK_TOO_LARGE, "a 101 KiB header line in pieces: %s", o.msg);
  /* endless trailers */
  strcpy(s, H200 "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n");
  for (i = strlen(s); i + 40 < n;) {
    memcpy(s + i, "X-Trailer: tttttttttttttttttttttttttt\r\n", 39);
    i += 39;
  }
  s[i] = '\0';
  readl(s, 0, 0, &o);
  check(o.ek == EXA_EK_TOO_LARGE && strstr(o.msg, "262144") != NULL, "endless trailers: %s", o.msg);
  /* endless 1xx heads */
  i = 0;
  while (i + 20 < n) {
    memcpy(s + i, "HTTP/1.1 100 C\r\n\r\n", 18);
    i += 18;
  }
  s[i] = '\0';
  readl(s, 0, 0, &o);
  check(o.ek == EXA_EK_TOO_LARGE && strstr(o.msg, "262144") != NULL, "endless 1xx heads: %s", o.msg);
  free(s);
}

static void test_keepalive(void) {
  res o;
  readl(H200 "Content-Length: 2\r\n\r\nok", 0, 0, &o);
  check(o.keep, "1.1 length body: keep");
  readl(H200 "Content-Length: 2\r\n\r\nokX", 0, 0, &o);
  check(!o.keep && o.ek == EXA_EK_NONE, "bytes past the body: do not keep");
  readl(H200 "Connection: keep-alive, close\r\nContent-Length: 2\r\n\r\nok", 0, 0, &o);
  check(!o.keep, "Connection: close: do not keep");
  readl("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, 0, &o);
  check(!o.keep, "1.0: do not keep");
  readl("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok", 0, 0, &o);
  check(o.keep, "1.0 keep-alive: keep");
  readl(H200 "Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n", 0, 0, &o);
  check(!o.keep && o.ek == EXA_EK_NONE && o.body_len == 2, "chunked and a length: chunked wins, do not keep");
  readl(H200 "\r\nuntil close", 0, 0, &o);
  check(!o.keep && o.done && o.body_len == 11, "close-delimited: read to the end, do not keep");
  readl("HTTP/1.1 101 Switching\r\nUpgrade: x\r\n\r\n", 0, 0, &o);
  check(!o.keep && o.done, "101: done, do not keep");
  readn(H200 "Content-Length: 5\r\n\r\n", strlen(H200 "Content-Length: 5\r\n\r\n"), 0, 1, 0, 0, &o);
  check(o.keep && o.done && o.body_len == 0, "HEAD: no body, keep");
  readn("HTTP/1.1 304 NM\r\nContent-Length: 5\r\n\r\n", 38, 0, 0, 0, 0, &o);
  check(o.keep && o.done, "304: no body, keep");
  readn("", 0, 0, 0, 0, 1, &o);
  check(o.ek == EXA_EK_TRANSPORT && strcmp(o.code, "empty_reply") == 0, "nothing: empty_reply");
  readn(H200 "Content-Le", 27, 0, 0, 0, 1, &o);
  check(o.ek == EXA_EK_TRANSPORT && strcmp(o.code, "closed_early") == 0, "a cut head: closed_early");
}

/* the curl mode: libcurl hands resp.c the head lines, h1.c the raw body */
static void test_curl_mode(void) {
  static const char *lines[] = {"HTTP/1.1 200 OK\r\n", "Content-Type: text/event-stream\r\n",
                                "Transfer-Encoding: chunked\r\n", "\r\n"};
  static const char body[] = "9\r\ndata: a\n\n\r\n0x40\r\ndata: b\n\n\r\n0\r\n\r\n";
  exa_resp r;
  exa_h1 h;
  exa_resp_cfg c;
  size_t i;
  memset(&c, 0, sizeof c);
  c.want_sse = 1;
  exa_resp_init(&r, &c);
  exa_h1_init(&h, &r, 0, 0);
  for (i = 0; i < 4; i++) exa_resp_header(&r, lines[i], strlen(lines[i]));
  check(r.head_done && exa_h1_frame(&h) == 0 && h.mode == EXA_H1_CHUNKED, "curl mode: chunked framing");
  check(exa_h1_feed(&h, body, strlen(body)) == EXA_RESP_FAIL && r.nevents == 1 && strcmp(h.code, "bad_chunk") == 0,
        "curl mode: 0x40 fails after one event");
  exa_h1_free(&h);
  exa_resp_free(&r);

  exa_resp_init(&r, &c);
  exa_h1_init(&h, &r, 0, 0);
  exa_resp_header(&r, "HTTP/2 200 \r\n", 13);
  exa_resp_header(&r, "content-length: 2\r\n", 19);
  exa_resp_header(&r, "\r\n", 2);
  check(exa_h1_frame(&h) == 0 && h.mode == EXA_H1_PASS, "curl mode: libcurl frames a length body");
  check(exa_h1_feed(&h, "ok", 2) == EXA_RESP_OK && exa_h1_eof(&h) == 0 && r.body.len == 2 && r.ended,
        "curl mode: the body passes and ends");
  exa_h1_free(&h);
  exa_resp_free(&r);

  exa_resp_init(&r, &c);
  exa_h1_init(&h, &r, 0, 0);
  exa_resp_header(&r, "HTTP/1.1 200 OK\r\n", 17);
  exa_resp_header(&r, "Transfer-Encoding: gzip, chunked\r\n", 34);
  exa_resp_header(&r, "\r\n", 2);
  check(exa_h1_frame(&h) == -1 && !r.head_done && r.ek == EXA_EK_TRANSPORT && strstr(r.emsg, "gzip") != NULL,
        "curl mode: a refused framing clears head_done (%s)", r.emsg);
  exa_h1_free(&h);
  exa_resp_free(&r);
}

/* every allocation failing in turn: an error or the right answer, no leak */
static void test_nomem(void) {
  static const char s[] = "HTTP/1.1 100 C\r\n\r\n" H200 "Content-Type: text/event-stream\r\nTransfer-Encoding: chunked"
                          "\r\n\r\n10\r\ndata: 0123456\n\n\r\n0\r\nX: y\r\n\r\n";
  long k;
  for (k = 0; k < 40; k++) {
    res o;
    alloc_count = 0;
    alloc_fail_at = k;
    readn(s, strlen(s), 1, 0, 3, 1, &o);
    alloc_fail_at = -1;
    check(o.ek != EXA_EK_NONE || (o.events == 1 && o.done), "nomem at %ld: %s", k, o.msg);
  }
}

static void replay_file(const char *path) {
  size_t n;
  char *s = check_slurp(path, &n);
  int sse;
  res a, b;
  if (s == NULL) {
    check(0, "cannot open %s", path);
    return;
  }
  for (sse = 0; sse <= 1; sse++) {
    readn(s, n, sse, 0, 0, 1, &a);
    readn(s, n, sse, 0, n < 20000 ? 1 : 997, 1, &b);
    check(same(&a, &b), "%s (sse %d): whole and bytewise differ (%s / %s)", path, sse, a.msg, b.msg);
  }
  free(s);
}

int main(int argc, char **argv) {
  int i;
  test_status();
  test_length();
  test_chunked();
  test_bounds();
  test_keepalive();
  test_curl_mode();
  test_nomem();
  for (i = 1; i < argc; i++) replay_file(argv[i]);
  printf("h1: %d hostile responses: %d passed, %d failed\n", argc - 1, passed, failed);
  return failed ? 1 : 0;
}
