#!/usr/bin/env bash
# tests/c/run.sh - the C tests (no Lua), each built with gcc and run under
# ASan+UBSan, then under valgrind memcheck:
#   sse_test    the SSE framer against the conformance cases and a reference parser
#   resp_test   resp.c (head, body, event queue) and the hostile responses of
#               fuzz/corpus/hostile replayed as curl hands them over
#   h1_test     h1.c (the HTTP/1 reader: status, framing, chunked, bounds,
#               keep-alive, the curl mode) and the hostile responses as bytes
# Ends with one line: "tests/c: ... N passed, M failed"; exits non-zero on any
# failure or report.  Needs gcc, valgrind, and lua5.4 (or lua5.1/luajit) with
# lua-cjson to turn spec/fixtures/sse_cases.json into the drivers' plain fixture.
set -uo pipefail
cd "$(dirname "$0")/../.."

tmp=$(mktemp -d /tmp/exa-ctest.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "tests/c: $*: 0 passed, 1 failed"; exit 1; }

lua=
for l in lua5.4 lua5.3 lua5.1 luajit; do
  if command -v "$l" >/dev/null && "$l" -e 'require "cjson"' 2>/dev/null; then lua=$l; break; fi
done
[ -n "$lua" ] || fail "needs a Lua with lua-cjson (Debian: apt-get install lua5.4 lua-cjson)"
"$lua" tests/c/gen_cases.lua spec/fixtures/sse_cases.json >"$tmp/cases.txt" || fail "gen_cases.lua failed"
hostile=(fuzz/corpus/hostile/*.http)

CFLAGS=(-std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
        -Wmissing-prototypes -Wpointer-arith -g -Isrc -Itests/c)
ASAN=(-O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)

gcc "${CFLAGS[@]}" "${ASAN[@]}" tests/c/sse_test.c tests/c/sse_ref.c -o "$tmp/sse_test_asan" || fail "build sse_test (asan) failed"
gcc "${CFLAGS[@]}" -O1 tests/c/sse_test.c tests/c/sse_ref.c -o "$tmp/sse_test" || fail "build sse_test failed"
gcc "${CFLAGS[@]}" "${ASAN[@]}" tests/c/resp_test.c -o "$tmp/resp_test_asan" || fail "build resp_test (asan) failed"
gcc "${CFLAGS[@]}" -O1 tests/c/resp_test.c -o "$tmp/resp_test" || fail "build resp_test failed"
gcc "${CFLAGS[@]}" "${ASAN[@]}" tests/c/h1_test.c -o "$tmp/h1_test_asan" || fail "build h1_test (asan) failed"
gcc "${CFLAGS[@]}" -O1 tests/c/h1_test.c -o "$tmp/h1_test" || fail "build h1_test failed"

total_pass=0 total_fail=0 summary=()
# count <label> <log> <exit code>: add the log's "N passed, M failed" to the totals
count() {
  local label=$1 log=$2 rc=$3 line p f
  grep -E '^FAIL|^  |ERROR|runtime error|^==' "$log" | head -40
  line=$(grep -E 'passed, [0-9]+ failed' "$log" | tail -1)
  p=$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+'); f=$(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
  p=${p:-0}; f=${f:-0}; [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  summary+=("$label ${p}/$((p + f))$([ "$rc" -ne 0 ] && echo " (exit $rc)")")
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
"$tmp/sse_test_asan" "$tmp/cases.txt" >"$tmp/a1.log" 2>&1; count "sse asan+ubsan" "$tmp/a1.log" $?
"$tmp/resp_test_asan" "${hostile[@]}" >"$tmp/a2.log" 2>&1; count "resp asan+ubsan" "$tmp/a2.log" $?
"$tmp/h1_test_asan" "${hostile[@]}" >"$tmp/a3.log" 2>&1; count "h1 asan+ubsan" "$tmp/a3.log" $?

if command -v valgrind >/dev/null; then
  VG=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all --show-leak-kinds=all)
  SSE_TEST_RANDOM=${SSE_TEST_RANDOM:-5000} "${VG[@]}" "$tmp/sse_test" "$tmp/cases.txt" >"$tmp/v1.log" 2>&1
  count "sse valgrind" "$tmp/v1.log" $?
  "${VG[@]}" "$tmp/resp_test" "${hostile[@]}" >"$tmp/v2.log" 2>&1
  count "resp valgrind" "$tmp/v2.log" $?
  "${VG[@]}" "$tmp/h1_test" "${hostile[@]}" >"$tmp/v3.log" 2>&1
  count "h1 valgrind" "$tmp/v3.log" $?
else
  summary+=("valgrind not installed: skipped")
fi

cases=$(grep -c '^case ' "$tmp/cases.txt")
echo "tests/c: $cases conformance cases, ${#hostile[@]} hostile responses; $(IFS=,; echo "${summary[*]}" | sed 's/,/, /g'): $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
