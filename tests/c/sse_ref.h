/*
 * sse_ref.h - a reference SSE parser for tests: the WHATWG steps transcribed
 * literally, over a whole stream at once (no chunks, no cleverness), to check
 * the real framer against.  It shares the framer's event struct and callback
 * types and its bound semantics (max_line: a line without its line end;
 * max_event: an event's data as delivered).
 */
#ifndef SSE_REF_H
#define SSE_REF_H

#include <stddef.h>

#include "sse.h"

typedef struct sse_ref_result {
  int rc;           /* 0, EXA_SSE_ELINE or EXA_SSE_EEVENT */
  char *last_id;    /* last event id after end of stream (malloc'd, may be NULL when empty) */
  size_t last_id_len;
  long retry;       /* -1 if never set */
  int partial;      /* (rc == 0) the stream ended inside a line or a block */
} sse_ref_result;

/* Parse the stream s[0..n) to its end, then end it as exa_sse_finish() does. */
void sse_ref_parse(const char *s, size_t n, size_t max_line, size_t max_event,
                   exa_sse_event_cb on_event, exa_sse_comment_cb on_comment, void *ud,
                   sse_ref_result *r);
void sse_ref_result_free(sse_ref_result *r);

#endif
