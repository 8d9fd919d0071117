#!/usr/bin/env bash
# make demo: start the simulator on a free loopback port, run the main job
# (examples/research.lua) against it, stop the simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
export LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;;"
export LUA_CPATH="$PWD/build/5.4/?.so;;"

key="demo-key-$$"
fifo=$(mktemp -u /tmp/exa-demo.XXXXXX)
mkfifo "$fifo"
lua5.4 bin/exa-agent-mock --host 127.0.0.1 --port 0 --api-key "$key" ${DEMO_MOCK_ARGS:-} >"$fifo" 2>/tmp/exa-demo-mock.log &
mock_pid=$!
cleanup() { kill "$mock_pid" 2>/dev/null || true; wait "$mock_pid" 2>/dev/null || true; rm -f "$fifo"; }
trap cleanup EXIT
exec 3<"$fifo"
if ! read -r -t 20 line <&3; then
  echo "demo: the simulator did not start; its log:" >&2
  cat /tmp/exa-demo-mock.log >&2
  exit 1
fi
url=${line#listening }
cat <&3 >/dev/null &   # keep draining whatever else the simulator prints
echo "demo: simulator $line (pid $mock_pid)" >&2
EXA_API_KEY="$key" EXA_BASE_URL="$url" lua5.4 examples/research.lua "$@"
