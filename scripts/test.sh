#!/usr/bin/env bash
# Run the whole suite: the busted specs under every Lua built (5.4 and LuaJIT at
# least), then the C-level tests.  Ends with one line: "N passed, N failed".
#   TEST_LUAS="5.4 jit" scripts/test.sh        choose the Luas
#   scripts/test.sh spec/sse_spec.lua          choose the spec files
set -uo pipefail
cd "$(dirname "$0")/.."

tags=${TEST_LUAS:-}
if [ -z "$tags" ]; then
  for t in 5.4 jit 5.1 5.2 5.3; do
    [ -f "build/$t/exa/core.so" ] && tags="$tags $t"
  done
fi
for need in 5.4 jit; do
  case " $tags " in *" $need "*) ;; *)
    if [ -z "${TEST_LUAS:-}" ]; then
      echo "test: build/$need/exa/core.so is missing: run 'make build' (needs the Lua $need headers)" >&2
      echo "0 passed, 1 failed"
      exit 1
    fi ;;
  esac
done

passed=0
failed=0
logdir=$(mktemp -d /tmp/exa-test.XXXXXX)
trap 'rm -rf "$logdir"' EXIT

for tag in $tags; do
  log="$logdir/busted-$tag.tap"
  echo "== busted under Lua $tag"
  scripts/busted.sh "$tag" -o TAP "$@" >"$log" 2>&1
  rc=$?
  ok=$(grep -cE '^ok [0-9]+' "$log")
  nok=$(grep -cE '^not ok [0-9]+' "$log")
  # Show failures in full; passes as a count.
  if [ "$nok" -gt 0 ] || [ $rc -ne 0 ]; then
    awk '/^not ok /{p=1} /^ok /{p=0} p' "$log" | head -400
  fi
  if [ $rc -ne 0 ] && [ "$nok" -eq 0 ]; then
    echo "busted under $tag exited $rc without a failing test: a spec file failed to load?"
    tail -30 "$log"
    nok=1
  fi
  echo "   Lua $tag: $ok passed, $nok failed"
  passed=$((passed + ok))
  failed=$((failed + nok))
done

# C-level tests of the SSE framer (sanitizers + valgrind), unless spec files were chosen.
if [ $# -eq 0 ]; then
  echo "== C tests (tests/c/run.sh)"
  out=$(bash tests/c/run.sh 2>&1)
  rc=$?
  echo "$out" | tail -5
  c_pass=$(echo "$out" | grep -oE '[0-9]+ passed' | tail -1 | grep -oE '[0-9]+')
  c_fail=$(echo "$out" | grep -oE '[0-9]+ failed' | tail -1 | grep -oE '[0-9]+')
  c_pass=${c_pass:-0}
  c_fail=${c_fail:-0}
  if [ $rc -ne 0 ] && [ "$c_fail" -eq 0 ]; then c_fail=1; fi
  passed=$((passed + c_pass))
  failed=$((failed + c_fail))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
