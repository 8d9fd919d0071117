#!/usr/bin/env bash
# fuzz/run.sh [seconds] - build the libFuzzer target with clang (ASan+UBSan)
# and run it (default 120 s).  The corpus lives in build/fuzz/corpus (seeded
# from spec/fixtures/sse_cases.json), crashes in build/fuzz/.  Ends with
# "fuzz: N execs in S s, corpus C, no findings" or exits non-zero.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-120}
out=build/fuzz
mkdir -p "$out/corpus"
cc=$(command -v clang-14 || command -v clang) || { echo "fuzz: needs clang (apt-get install clang)"; exit 2; }

"$cc" -std=c99 -D_POSIX_C_SOURCE=200809L -g -O1 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
  -Wmissing-prototypes -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Isrc -Itests/c fuzz/sse_fuzz.c src/sse.c tests/c/sse_ref.c -o "$out/sse_fuzz" || exit 1

# Seeds: each conformance case's whole stream, under default and tight bounds.
lua=
for l in lua5.4 lua5.3 lua5.1 luajit; do
  if command -v "$l" >/dev/null && "$l" -e 'require "cjson"' 2>/dev/null; then lua=$l; break; fi
done
if [ -n "$lua" ]; then
  "$lua" - "$out/corpus" <<'LUA'
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
fi

log="$out/fuzz.log"
"$out/sse_fuzz" -max_total_time="$secs" -dict=fuzz/sse.dict -max_len=4096 -print_final_stats=1 \
  -artifact_prefix="$out/" "$out/corpus" >"$log" 2>&1
rc=$?
runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
corpus=$(ls "$out/corpus" | wc -l)
if [ $rc -ne 0 ]; then
  grep -E -A30 'ERROR|runtime error|deadly signal|Test unit written' "$log" | head -60
  echo "fuzz: FAILED after ${runs:-?} execs (log $log)"
  exit 1
fi
echo "fuzz: ${runs:-?} execs in ${secs} s, ${cov:-cov ?}, corpus $corpus, no findings"
