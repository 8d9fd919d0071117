#!/usr/bin/env bash
# make demo: start the simulator on a free loopback port, run the main job
# (examples/research.lua) against it, stop the simulator; then the command
# line, `exa-agent --mock run "..."`, which starts and stops a simulator of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/mock.sh
export LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;;"
export LUA_CPATH="$PWD/build/5.4/?.so;;"

key="demo-key-$$"
MOCK_LOG=$(mktemp /tmp/exa-demo-mock.XXXXXX)
trap 'stop_mocks; rm -f "$MOCK_LOG"' EXIT
# shellcheck disable=SC2086 # DEMO_MOCK_ARGS holds several flags
start_mock --host 127.0.0.1 --port 0 --api-key "$key" ${DEMO_MOCK_ARGS:-}
echo "demo: simulator $MOCK_LINE (pid $MOCK_PID)" >&2
EXA_API_KEY="$key" EXA_BASE_URL="$MOCK_URL" lua5.4 examples/research.lua "$@"

# The command line: --mock starts its own simulator for the one command, no key needed.
echo >&2
echo "demo: bin/exa-agent --mock run \"...\" --effort low" >&2
EXA_AGENT_MOCK_ARGS="${DEMO_MOCK_ARGS:-}" bin/exa-agent --mock run \
  "What changed in AI infrastructure funding this week?" --effort low
