#!/usr/bin/env bash
# fuzz/run.sh [seconds per target] [targets...] - build the libFuzzer targets
# with clang (ASan+UBSan) and run each in turn (default 60 s each):
#   sse    the SSE framer against a literal reference parser (fuzz/sse_fuzz.c)
#   resp   resp.c: head lines, body chunks, the event queue (fuzz/resp_fuzz.c)
#   h1     h1.c: a whole response as bytes, whole / in pieces / bytewise (fuzz/h1_fuzz.c)
#   json   json.c's glue around lua-cjson, Lua 5.4 linked in (fuzz/json_fuzz.c)
# Corpora live in build/fuzz/<target>/corpus (seeded from the conformance cases,
# fuzz/corpus/hostile and spec/fixtures), crashes in build/fuzz/<target>/.
# Ends with "fuzz: N execs in all, no findings" or exits non-zero.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(sse resp h1 json)
out=build/fuzz
cc=$(command -v clang-14 || command -v clang) || { echo "fuzz: needs clang (apt-get install clang)"; exit 2; }
FLAGS=(-std=c99 -D_POSIX_C_SOURCE=200809L -g -O1 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
       -Wmissing-prototypes -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Isrc -Itests/c)

lua=
for l in lua5.4 lua5.3 lua5.1 luajit; do
  if command -v "$l" >/dev/null && "$l" -e 'require "cjson"' 2>/dev/null; then lua=$l; break; fi
done

build() {
  local t=$1
  mkdir -p "$out/$t/corpus"
  case "$t" in
    sse) "$cc" "${FLAGS[@]}" fuzz/sse_fuzz.c src/sse.c tests/c/sse_ref.c -o "$out/$t/fuzzer" ;;
    resp) "$cc" "${FLAGS[@]}" fuzz/resp_fuzz.c src/resp.c src/sse.c -o "$out/$t/fuzzer" ;;
    h1) "$cc" "${FLAGS[@]}" fuzz/h1_fuzz.c src/h1.c src/resp.c src/sse.c -o "$out/$t/fuzzer" ;;
    json) "$cc" "${FLAGS[@]}" -I/usr/include/lua5.4 fuzz/json_fuzz.c src/json.c src/bind.c -llua5.4 -lm -o "$out/$t/fuzzer" ;;
    *) echo "fuzz: unknown target $t"; return 1 ;;
  esac
}

seed() {
  local t=$1 dir=$out/$1/corpus
  case "$t" in
    sse) # each conformance case's whole stream, under default and tight bounds
      [ -n "$lua" ] && "$lua" - "$dir" <<'LUA'
local cjson = require "cjson"
local dir = arg[1]
local f = assert(io.open("spec/fixtures/sse_cases.json", "rb"))
local cases = cjson.decode(f:read("*a"))
f:close()
for i, c in ipairs(cases) do
  local s = table.concat(c.chunksHex):gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end)
  for j, hdr in ipairs({ "\7\7\1\0", "\3\2\7\0" }) do
    local o = assert(io.open(("%s/case%02d-%d"):format(dir, i, j), "wb"))
    o:write(hdr, s)
    o:close()
  end
end
LUA
      ;;
    resp) # each hostile response (its first 8 KiB), as plain body and as event stream, two bounds
      for f in fuzz/corpus/hostile/*.http; do
        b=$(basename "$f" .http)
        for cfg in 00 01 0b 2b; do
          { printf "\\x$cfg\\x07"; head -c 8192 "$f"; } >"$dir/$b-$cfg"
        done
      done ;;
    h1) # the hostile responses and spec/fixtures/h1_cases.lua (first 8 KiB), plain and event stream
      for f in fuzz/corpus/hostile/*.http; do
        b=$(basename "$f" .http)
        for cfg in 00 01 29; do
          { printf "\\x$cfg\\x07"; head -c 8192 "$f"; } >"$dir/$b-$cfg"
        done
      done
      [ -n "$lua" ] && "$lua" - "$dir" <<'LUA'
local dir = arg[1]
for _, c in ipairs(dofile("spec/fixtures/h1_cases.lua")) do
  for _, cfg in ipairs { "\0", "\1" } do
    local o = assert(io.open(("%s/h1-%s-%d"):format(dir, c.name, cfg:byte()), "wb"))
    o:write(cfg, "\7", c.bytes:sub(1, 8190))
    o:close()
  end
end
LUA
      ;;
    json) # JSON the client meets
      for f in spec/fixtures/*.json; do head -c 8192 "$f" >"$dir/$(basename "$f")"; done
      printf '%s' '{"a":[],"b":[1,2.5,-0,1e400,12345678901234567890],"c":{"d":null,"e":"\\/x\\u0000"}}' >"$dir/mixed"
      printf '%s' '[[[]],[ ],{},"[]"]' >"$dir/empties" ;;
  esac
}

total=0 rc_all=0
for t in "${targets[@]}"; do
  build "$t" || exit 1
  seed "$t"
  log="$out/$t/fuzz.log"
  opts=(-max_len=8192)
  [ -f "fuzz/$t.dict" ] && opts+=(-dict="fuzz/$t.dict")
  # the Lua state outlives each input: libFuzzer's per-input leak scan would run
  # every time (100x slower); valgrind checks json.c's leaks on the suite
  [ "$t" = json ] && opts+=(-detect_leaks=0)
  "$out/$t/fuzzer" -max_total_time="$secs" "${opts[@]}" -print_final_stats=1 \
    -artifact_prefix="$out/$t/" "$out/$t/corpus" >"$log" 2>&1
  rc=$?
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
  corpus=$(ls "$out/$t/corpus" | wc -l)
  if [ $rc -ne 0 ]; then
    grep -E -A30 'ERROR|runtime error|deadly signal|Test unit written|MISMATCH' "$log" | head -60
    echo "fuzz: $t FAILED after ${runs:-?} execs (log $log)"
    rc_all=1
    continue
  fi
  total=$((total + ${runs:-0}))
  echo "fuzz: $t ${runs:-?} execs in ${secs} s, ${cov:-cov ?}, corpus $corpus, no findings"
done
[ $rc_all -eq 0 ] || exit 1
echo "fuzz: $total execs in all, no findings"
