#!/usr/bin/env bash
# tests/c/run.sh - the SSE framer's C tests (no Lua): built with gcc and run
# under ASan+UBSan, then under valgrind memcheck.  Ends with one line:
#   "tests/c: ... N passed, M failed"; exits non-zero on any failure or report.
# Needs gcc, valgrind, and lua5.4 (or lua5.1/luajit) with lua-cjson to turn
# spec/fixtures/sse_cases.json into the drivers' plain fixture.
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

CFLAGS=(-std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
        -Wmissing-prototypes -Wpointer-arith -g -Isrc -Itests/c)
SRCS=(tests/c/sse_test.c tests/c/sse_ref.c)

gcc "${CFLAGS[@]}" -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
  "${SRCS[@]}" -o "$tmp/sse_test_asan" || fail "build (asan) failed"
gcc "${CFLAGS[@]}" -O1 "${SRCS[@]}" -o "$tmp/sse_test" || fail "build failed"

total_pass=0 total_fail=0 summary=()
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  "$tmp/sse_test_asan" "$tmp/cases.txt" >"$tmp/asan.log" 2>&1
rc=$?
grep -E '^FAIL|^  |ERROR|runtime error' "$tmp/asan.log" | head -40
line=$(tail -1 "$tmp/asan.log")
p=$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+'); f=$(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
p=${p:-0}; f=${f:-0}; [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
summary+=("asan+ubsan ${p}/$((p + f))$([ $rc -ne 0 ] && echo " (exit $rc)")")

if command -v valgrind >/dev/null; then
  SSE_TEST_RANDOM=${SSE_TEST_RANDOM:-5000} valgrind --quiet --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=all --show-leak-kinds=all "$tmp/sse_test" "$tmp/cases.txt" >"$tmp/vg.log" 2>&1
  rc=$?
  grep -E '^FAIL|^  |^==' "$tmp/vg.log" | head -40
  line=$(grep -E 'passed, [0-9]+ failed' "$tmp/vg.log" | tail -1)
  p=$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+'); f=$(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
  p=${p:-0}; f=${f:-0}; [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  summary+=("valgrind ${p}/$((p + f))$([ $rc -ne 0 ] && echo " (exit $rc)")")
else
  summary+=("valgrind not installed: skipped")
fi

cases=$(grep -c '^case ' "$tmp/cases.txt")
echo "tests/c: $cases conformance cases; ${summary[0]}, ${summary[1]}: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
