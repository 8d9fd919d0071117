#!/usr/bin/env bash
# make bench: timings, side by side, written to bench/results/latest.txt.
#  1. SSE framer throughput: C framer vs a pure-Lua framer (Lua 5.4, LuaJIT)
#  2. JSON: exa.wire.json (arrays kept, exact numbers) vs raw lua-cjson
#  3. Clients against one simulator: exa (Lua 5.4, LuaJIT) vs the official
#     TypeScript SDK exa-js (Node), same operations, plus stream correctness
#     under wire variations (CRLF, CR, a dropped connection).
#  5. exa.core with 1, 100, 1000 concurrent event streams: CPU per event, memory per stream.
#  6. The built-in loop with 1, 100, 1000 live streams in one Lua thread (bench/loop_scale.lua).
#  7. OpenResty: a trivial location's latency while 20 runs stream through one
#     nginx worker, ngx backend (cosockets) beside the curl transport
#     (bench/ngx_latency.lua; `make bench-ngx` runs this part alone).
#  8. What users run, beside exa-js: 1,000 streams through an nginx TLS +
#     HTTP/2 proxy and over plain http, one 64 MiB stream (bench/users.sh,
#     also bench/results/users.txt; `make bench-users` runs this part alone).
# exa-js is installed from the npm registry into bench/.node (not committed);
# without npm that column is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;;"
mkdir -p bench/results
out=bench/results/latest.txt
. bench/lib/exa_js.sh # EXA_JS_VERSION, the pinned exa-js

lua_for() { [ "$1" = jit ] && echo luajit || echo "lua$1"; }
# Run a Lua script under Lua 5.4 and LuaJIT, each with its own build of exa.core.
on_each_lua() {
  local t
  for t in 5.4 jit; do LUA_CPATH="$root/build/$t/?.so;;" "$(lua_for $t)" "$@"; done
}

{
  echo "# exa-agent bench, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
  echo "versions: $(lua5.4 -v 2>&1), $(luajit -v 2>&1 | cut -d' ' -f1-2), libcurl $(curl-config --version | cut -d' ' -f2), node $(node --version 2>/dev/null || echo none)"
  echo
  echo "## 1. SSE framer (CPU time, 16 KiB chunks)"
  on_each_lua bench/sse_throughput.lua
  echo
  echo "## 2. JSON of a completed run object"
  on_each_lua bench/json_overhead.lua
} | tee "$out"

# --- 3. clients against the simulator
. scripts/lib/mock.sh
trap stop_mocks EXIT
key=bench-key
start_mock --port 0 --api-key $key --speed 200 --max-active 100000 --seed 1
export EXA_BASE_URL=$MOCK_URL EXA_API_KEY=$key

# 100 runs to page through; the last one, completed, is fetched and replayed.
run_id=$(LUA_CPATH="$root/build/5.4/?.so;;" lua5.4 -e '
  local exa = require "exa"
  local c = exa.new{}
  local id
  for i = 1, 100 do id = c.runs:create{ query = "bench seed " .. i, effort = "low" }.id end
  print(c.runs:wait(id, { timeout = 60, interval = 0.05 }).id)')
export BENCH_RUN_ID=$run_id BENCH_GETS=${BENCH_GETS:-1000}

results=$(mktemp)
for t in 5.4 jit; do
  LUA_CPATH="$root/build/$t/?.so;;" "$(lua_for $t)" bench/client_lua.lua | sed "s/^/exa ($([ $t = jit ] && echo LuaJIT || echo Lua $t))\t/" >>"$results"
done
if command -v npm >/dev/null 2>&1; then
  if [ ! -d bench/.node/node_modules/exa-js ]; then
    mkdir -p bench/.node
    (cd bench/.node && npm install --no-audit --no-fund --silent "exa-js@$EXA_JS_VERSION" >/dev/null 2>&1) || true
  fi
  if [ -d bench/.node/node_modules/exa-js ]; then
    cp bench/client_exa_js.mjs bench/.node/
    node bench/.node/client_exa_js.mjs | sed "s/^/exa-js $EXA_JS_VERSION (Node $(node --version))\t/" >>"$results"
    rm -f bench/.node/client_exa_js.mjs
  fi
fi

{
  echo
  echo "## 3. Clients against the simulator (loopback, --speed 200; wall and client CPU per operation)"
  echo "get = GET one run, $BENCH_GETS times in a row; list-all = iterate all runs at limit=20, 5 times;"
  echo "replay-events = SSE replay of a completed run, 50 times"
  echo
  printf "%-28s %-15s %12s %12s  %s\n" client operation "wall ms/op" "cpu ms/op" detail
  awk -F'\t' '$3 > 0 && $2 !~ /^stream/ { printf "%-28s %-15s %12.3f %12.3f  %s\n", $1, $2, 1000*$4/$3, 1000*$5/$3, $6 }' "$results"
  echo
  echo "## 4. Stream correctness under wire variations (events received, last event)"
  awk -F'\t' '$2 ~ /^stream\[/ { printf "%-28s %-28s %s\n", $1, $2, $6 }' "$results"
} | tee -a "$out"
rm -f "$results"

{
  echo
  echo "## 5. exa.core with many streams on one multi (bench/core_streams.lua)"
  echo "CPU per event and RSS per open stream at 1, 100, 1000 concurrent SSE transfers, ~2,000 events/s in all;"
  echo "wait = m:wait + next_event(0) for the reported ids; blocking = round-robin blocking next_event()"
  on_each_lua bench/core_streams.lua
} | tee -a "$out"

# --- 6. many streams in one Lua thread (the built-in loop): CPU per event,
# peak memory per stream, at 1, 100 and 1,000 streams open at once
start_mock --port 0 --api-key $key --max-active 100000 --seed 1   # speed 1: real-time runs
scale_url=$MOCK_URL
{
  echo
  echo "## 6. Many live streams on one built-in loop (one Lua thread; runs last 4 s, all open together)"
  for t in 5.4 jit; do
    rows=""
    for n in 1 100 1000; do
      row=$(EXA_BASE_URL=$scale_url LUA_CPATH="$root/build/$t/?.so;;" "$(lua_for $t)" bench/loop_scale.lua $n)
      echo "$row"
      rows="$rows$row"$'\n'
    done
    # what one more stream costs: the peaks at 100 and 1,000 streams apart,
    # without the fixed costs (the collector's slack on the heap before the
    # streams, malloc's padding) that the 100-stream figure spreads thin
    printf '%s' "$rows" | awk '{ for (i = 1; i < NF; i++) { if ($i == "streams") n = $(i + 1); if ($i == "peak/stream") p[n] = $(i + 1) } }
      END { if (p[100] != "" && p[1000] != "") printf "%s: each stream beyond 100 adds %.1f KiB at its peak\n", "'"$t"'", (p[1000] * 1000 - p[100] * 100) / 900 }'
  done
} | tee -a "$out"
stop_mocks

{
  echo
  echo "## 7. OpenResty: /ping latency while 20 runs stream through one nginx worker (nginx $(nginx -v 2>&1 | cut -d/ -f2))"
  bench/ngx_latency.sh
} | tee -a "$out"
{
  echo
  echo "## 8. What users run (bench/users.sh)"
  bench/users.sh
} | tee -a "$out"
echo "bench: results in $out"
