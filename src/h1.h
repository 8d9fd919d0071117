/*
 * h1.h - one HTTP/1 response reader: bytes in, state out, no socket, no Lua.
 *
 * It sits in front of resp.c (which keeps the head rules, the header store,
 * the body buffer and the event queue) and adds what a byte stream needs:
 *
 *   head     (raw_head) head lines cut out of the bytes, each checked and
 *            handed to exa_resp_header: the status line must be
 *            "HTTP/1.<digit> <3 digits 100-599>" then SP or the line end; a
 *            head line longer than EXA_H1_MAX_LINE (curl 7.88's own bound) is
 *            too_large, and all head lines (1xx heads and trailers included)
 *            count against EXA_RESP_MAX_HEAD
 *   framing  exa_h1_frame, once the final head is complete: HEAD / 1xx / 204 /
 *            304 have no body; Transfer-Encoding must end in chunked and name
 *            no other coding (any other is an error naming it); Content-Length
 *            is one value or a list of equal values (digits only: empty,
 *            signed, spaced or garbage values are errors; 010 is 10); else the
 *            body runs until the peer closes.  A Content-Encoding other than
 *            identity on a body is an error: neither backend decodes one.
 *   body     chunked decoding (hex sizes of at most EXA_H1_MAX_DIGITS digits,
 *            nothing but optional whitespace, ';' extensions (ignored) or the
 *            line end after them; the size line at most EXA_H1_MAX_LINE;
 *            trailers counted against the head bound, one at most
 *            EXA_H1_MAX_TRAILER), length and close
 *            bodies; decoded bytes go to exa_resp_take (the framer for an
 *            event stream, the bounded buffer otherwise)
 *   reuse    exa_h1_keepalive: the body ended exactly where the bytes did,
 *            HTTP/1.1 without "Connection: close" (1.0 with keep-alive), no
 *            Transfer-Encoding beside a Content-Length
 *
 * Without raw_head (the curl backend) libcurl reads the head and hands its
 * lines to resp.c itself; the driver then calls exa_h1_frame and feeds the
 * body bytes as libcurl read them with transfer decoding off: chunked bodies
 * are decoded here, other bodies pass (libcurl found their end).
 *
 * Failures go into the exa_resp (first one wins); h->code names the
 * condition for the ones found here ("bad_response", "bad_chunk",
 * "bad_length", "bad_coding", "bad_trailer", "content_encoding", "empty_reply",
 * "closed_early"), NULL for resp.c's own.
 */
#ifndef EXA_H1_H
#define EXA_H1_H

#include "resp.h"

#define EXA_H1_MAX_LINE ((size_t)100 << 10) /* one head, trailer or chunk-size line */
#define EXA_H1_MAX_DIGITS 16                /* hex digits of a chunk size */
#define EXA_H1_MAX_TRAILER ((size_t)4096)   /* one trailer line, as libcurl 7.88's bound */

enum { EXA_H1_HEAD = 0, EXA_H1_LENGTH, EXA_H1_CHUNKED, EXA_H1_CLOSE, EXA_H1_PASS, EXA_H1_DONE };

typedef struct exa_h1 {
  exa_resp *r;
  int raw_head;      /* the head comes through exa_h1_feed too */
  int is_head;       /* the request was a HEAD */
  int mode;          /* EXA_H1_* */
  int minor;         /* HTTP/1.<minor> of the last status line */
  int keep;          /* the connection may be reused once the body is done */
  int cs;            /* chunked: the decoder's state (h1.c) */
  unsigned digits;   /* chunked: size digits read */
  unsigned long long left; /* length: body bytes left; chunked: bytes left of this chunk */
  size_t linelen;    /* chunked: bytes of the size line so far */
  size_t fed;        /* bytes fed so far */
  exa_buf line;      /* a head or trailer line not yet complete */
  const char *code;  /* the failure's code name when it was found here */
} exa_h1;

void exa_h1_init(exa_h1 *h, exa_resp *r, int raw_head, int is_head);
void exa_h1_free(exa_h1 *h); /* idempotent */

/* The final head is complete (r->head_done): choose the body's framing.
 * 0, or -1 (r->ek says why, and r->head_done is cleared: the head is not
 * one to hand out). */
int exa_h1_frame(exa_h1 *h);

/* Bytes as they came off the connection.  EXA_RESP_OK: all taken (bytes past
 * the end of the response are dropped, and the connection is not reused).
 * EXA_RESP_PAUSE (event streams only, at the start): the event queue is full,
 * nothing taken.  EXA_RESP_FAIL: r->ek says why. */
int exa_h1_feed(exa_h1 *h, const char *b, size_t n);

/* The peer closed the connection (no more bytes).  0: the response is
 * complete (a close-delimited body ends here); -1: it was cut short. */
int exa_h1_eof(exa_h1 *h);

/* The response is complete (exa_resp_end ran). */
int exa_h1_done(const exa_h1 *h);
/* How many more bytes the response needs at least: 0 when done or failed,
 * the body bytes left of a length body, else 1 (unknown). */
unsigned long long exa_h1_want(const exa_h1 *h);
/* May the connection carry another request (the response is done, ended
 * exactly at the last byte fed, and its head allows it)? */
int exa_h1_keepalive(const exa_h1 *h);

#endif
