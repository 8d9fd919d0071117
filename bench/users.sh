#!/usr/bin/env bash
# bench/users.sh: what users run, side by side with exa-js in one run (part of
# `make bench`; `make bench-users` runs it alone), to bench/results/users.txt.
#  - BENCH_STREAMS (1,000) streamed creates at once through an nginx TLS +
#    HTTP/2 proxy in front of the simulator: client CPU per event, peak memory
#    per stream, TLS connections the proxy accepted;
#  - the same over plain http, straight to the simulator;
#  - one BENCH_MIB (64) MiB event stream (nginx serves it), every event decoded:
#    events/s (wall) and CPU per event.
# Each run lasts ~4 s of simulated work; the whole part takes a few minutes on
# 2 cores. Figures on a shared machine move with its load (printed).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;;"
mkdir -p bench/results
out=bench/results/users.txt
N=${BENCH_STREAMS:-1000}
MIB=${BENCH_MIB:-64}
key=bench-key
. bench/lib/exa_js.sh
. scripts/lib/mock.sh
. bench/lib/proxy.sh
big=$(mktemp /tmp/exa-bench-big.XXXXXX)
trap 'stop_proxy; stop_mocks; rm -f "$big"' EXIT

lua_for() { [ "$1" = jit ] && echo luajit || echo "lua$1"; }
lua_name() { [ "$1" = jit ] && echo "exa (LuaJIT)" || echo "exa (Lua $1)"; }
have_js=0
ensure_exa_js && have_js=1

lua5.4 bench/lib/big_stream.lua "$big" "$MIB" >/dev/null
start_mock --port 0 --api-key $key --max-active 100000 --seed 1 # speed 1: real-time runs
start_proxy "$MOCK_URL" "$big"
export EXA_API_KEY=$key

# "cpu/event X us  peak/stream Y KiB" of a scale line -> "X Y"
fields() { awk '{ for (i = 1; i < NF; i++) { if ($i == "cpu/event") c = $(i + 1); if ($i == "peak/stream") p = $(i + 1); if ($i == "events") e = $(i + 1) } } END { print c, p, e }'; }

scale_row() { # label url ca client...
  local label=$1 url=$2 ca=$3 line c p e conns
  shift 3
  proxy_connections >/dev/null
  line=$(EXA_BASE_URL=$url EXA_CA_FILE=$ca NODE_EXTRA_CA_CERTS=$ca "$@" "$N" 2>/dev/null) || line=""
  read -r c p e <<<"$(printf '%s\n' "$line" | fields)"
  conns=$(proxy_connections)
  case $url in https:*) ;; *) conns="-" ;; esac
  printf "%-34s %-26s %7s %12s %16s %8s\n" "$label" "$N streams, $([ "$ca" ] && echo "TLS + h2 proxy" || echo "plain http")" \
    "${e:-?}" "${c:-?} us" "${p:-?} KiB" "$conns"
}

one_row() { # label client...
  local label=$1 line n cpu wall
  shift
  line=$(EXA_BASE_URL=$BIG_URL "$@" 2>/dev/null) || line=""
  read -r n cpu wall <<<"$line"
  if [ -n "${n:-}" ]; then
    awk -v l="$label" -v n="$n" -v c="$cpu" -v w="$wall" 'BEGIN { printf "%-34s %9d events %12.0f events/s %9.2f us/event (CPU)\n", l, n, n / w, c / n * 1e6 }'
  else
    printf "%-34s failed\n" "$label"
  fi
}

{
  echo "# exa-agent bench: what users run, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min; a shared machine's other work slows every column alike)"
  echo "versions: $(lua5.4 -v 2>&1 | cut -d' ' -f1-2), $(luajit -v 2>&1 | cut -d' ' -f1-2), libcurl $(curl-config --version | cut -d' ' -f2), nginx $(nginx -v 2>&1 | cut -d/ -f2), node $(node --version 2>/dev/null || echo none), exa-js $([ $have_js = 1 ] && echo "$EXA_JS_VERSION" || echo "not installed")"
  echo
  echo "## Many streams at once (runs of 4 s, all open together; the client's CPU, peak RSS growth / streams)"
  printf "%-34s %-26s %7s %12s %16s %8s\n" client shape events "cpu/event" "peak/stream" "TLS conns"
  for t in 5.4 jit; do
    scale_row "$(lua_name $t)" "$PROXY_URL" "$PROXY_CA" env LUA_CPATH="$root/build/$t/?.so;;" "$(lua_for $t)" bench/loop_scale.lua
  done
  [ $have_js = 1 ] && scale_row "exa-js $EXA_JS_VERSION (Node $(node --version))" "$PROXY_URL" "$PROXY_CA" node bench/.node/loop_scale_exa_js.mjs
  for t in 5.4 jit; do
    scale_row "$(lua_name $t)" "$MOCK_URL" "" env LUA_CPATH="$root/build/$t/?.so;;" "$(lua_for $t)" bench/loop_scale.lua
  done
  [ $have_js = 1 ] && scale_row "exa-js $EXA_JS_VERSION (Node $(node --version))" "$MOCK_URL" "" node bench/.node/loop_scale_exa_js.mjs
  echo
  echo "## One $MIB MiB event stream (plain http from nginx; every event's data decoded)"
  for t in 5.4 jit; do
    one_row "$(lua_name $t)" env LUA_CPATH="$root/build/$t/?.so;;" "$(lua_for $t)" bench/one_stream.lua
  done
  [ $have_js = 1 ] && one_row "exa-js $EXA_JS_VERSION (Node $(node --version))" node bench/.node/one_stream_exa_js.mjs
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out"
