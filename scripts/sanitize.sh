#!/usr/bin/env bash
# The C core under the tools the repo rules name.
#   scripts/sanitize.sh asan       build with ASan+UBSan into build-asan/, run the Lua 5.4 suite on it
#   scripts/sanitize.sh valgrind   run the Lua 5.4 suite on build/5.4 under valgrind memcheck
# Extra arguments choose spec files (default: the whole suite).
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: scripts/sanitize.sh asan|valgrind [spec files...]}
shift

export LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;$PWD/spec/?.lua;;"
log=$(mktemp /tmp/exa-$mode.XXXXXX)
export EXA_TEST_LUA_TAG=5.4

case "$mode" in
  asan)
    make --no-print-directory build BUILD=build-asan LUA_TAGS=5.4 CFLAGS="-O1 -g" \
      EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
      EXTRA_LDFLAGS="-fsanitize=address,undefined" || exit 1
    asan=$(gcc -print-file-name=libasan.so)
    ubsan=$(gcc -print-file-name=libubsan.so)
    export LUA_CPATH="$PWD/build-asan/5.4/?.so;;"
    # LD_PRELOAD reaches every child too; the curl CLI the spec helpers run
    # deadlocks in its resolver thread under a preloaded ASan runtime, so
    # children named curl run without it (through a PATH shim).
    shim=$(mktemp -d /tmp/exa-asan-shim.XXXXXX)
    printf '#!/bin/sh\nunset LD_PRELOAD\nexec %s "$@"\n' "$(command -v curl)" >"$shim/curl"
    chmod +x "$shim/curl"
    export PATH="$shim:$PATH"
    # lua5.4 itself is not instrumented; leaks are checked by valgrind instead.
    export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    LD_PRELOAD="$asan $ubsan" lua5.4 /usr/bin/busted -o TAP "${@:-spec}" >"$log" 2>&1
    rc=$?
    grep -E '^(not )?ok ' "$log" | grep -c '^ok' | sed 's/$/ specs passed under ASan+UBSan/'
    if grep -qE 'ERROR: AddressSanitizer|runtime error:' "$log" || [ $rc -ne 0 ]; then
      grep -E -A30 'ERROR: AddressSanitizer|runtime error:|^not ok' "$log" | head -80
      echo "sanitize: FAILED (log "$log")"
      exit 1
    fi
    echo "sanitize: clean"
    ;;
  valgrind)
    export LUA_CPATH="$PWD/build/5.4/?.so;;"
    specs=("$@")
    [ ${#specs[@]} -eq 0 ] && specs=(spec)
    valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
      --show-leak-kinds=definite --track-origins=yes \
      lua5.4 /usr/bin/busted -o TAP "${specs[@]}" >"$log" 2>&1
    rc=$?
    grep -c '^ok ' "$log" | sed 's/$/ specs passed under valgrind/'
    # exit 99: memcheck found errors; any other failure is a spec failing (a
    # timing a 20-50x slower process misses is one): both fail, told apart
    errors=$(grep -cE '==[0-9]+== (Invalid|Conditional|Use of|Syscall param|Mismatched|.*definitely lost)' "$log")
    if [ $rc -ne 0 ]; then
      grep -E -B2 -A25 '==[0-9]+== (Invalid|Conditional|Use of|Syscall param|Mismatched|.*definitely lost)|^not ok' "$log" | head -80
      echo "valgrind: FAILED (exit $rc: $errors memcheck reports, $(grep -c '^not ok' "$log") specs failed; log $log)"
      exit 1
    fi
    echo "valgrind: clean (0 memcheck reports)"
    ;;
  *) echo "usage: scripts/sanitize.sh asan|valgrind" >&2; exit 2 ;;
esac
