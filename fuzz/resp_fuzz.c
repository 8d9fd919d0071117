/*
 * resp_fuzz.c - libFuzzer target for resp.c: a whole HTTP response (the bytes
 * a server sends) split into head lines as curl hands them over, its body
 * (de-chunked when the head says so) fed in arbitrary chunks, with the event
 * queue drained whenever resp.c refuses bytes.  The same bytes fed whole, in
 * random chunks and one byte at a time must give the same events (has_id
 * included), status, error and end, and every invariant of
 * tests/c/resp_replay.h must hold.  Any difference traps.
 *
 * Input: 2 header bytes, then the response.  [0] picks want_sse and the
 * bounds (max_queued, max_line/max_event, max_body), [1] seeds the chunking.
 *
 *   fuzz/run.sh [seconds per target]
 */
#include <stdint.h>
#include <string.h>

#include "resp_replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t queues[4] = {0, 1, 64, 4096};
static const size_t lines[4] = {0, 1, 16, 1024};

static void require(int ok) {
  if (!ok) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static rec a = {{0}, {0}, 0, 0, 0, 0, 1}, b = {{0}, {0}, 0, 0, 0, 0, 1};
  exa_resp_cfg c;
  const char *s = (const char *)data + 2;
  size_t n;
  unsigned cfg, seed;
  if (size < 2) return 0;
  n = size - 2;
  cfg = data[0];
  seed = (unsigned)data[1] + 1;
  memset(&c, 0, sizeof c);
  c.want_sse = cfg & 1;
  c.max_queued = queues[(cfg >> 1) & 3];
  c.max_line = lines[(cfg >> 3) & 3];
  c.max_event = lines[(cfg >> 5) & 3];
  c.max_body = (cfg & 0x80) ? 16 : 0;

  require(replay(s, n, &c, REPLAY_WHOLE, 0, &a).ok);
  require(replay(s, n, &c, REPLAY_RANDOM, seed, &b).ok);
  require(rec_same(&a, &b));
  if (n <= 2048) {
    require(replay(s, n, &c, REPLAY_BYTES, 0, &b).ok);
    require(rec_same(&a, &b));
  }
  return 0;
}
