# scripts/lib/mock.sh: start the simulator from bash scripts (source this file).
#   start_mock [exa-agent-mock args...]   sets MOCK_URL, MOCK_LINE and MOCK_PID
#   stop_mocks                            stops every simulator started here
# The simulator's first stdout line is "listening http://HOST:PORT"; the rest of
# its stdout is drained so it can never block on a full pipe. Its stderr goes
# to $MOCK_LOG (default: discarded). Callers: trap stop_mocks EXIT.
MOCK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MOCK_PIDS=()

stop_mocks() {
  local pid
  for pid in "${MOCK_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  MOCK_PIDS=()
}

start_mock() {
  local fifo fd
  fifo=$(mktemp -u /tmp/exa-mock.XXXXXX)
  mkfifo "$fifo"
  lua5.4 "$MOCK_ROOT/bin/exa-agent-mock" "$@" >"$fifo" 2>"${MOCK_LOG:-/dev/null}" &
  MOCK_PID=$!
  MOCK_PIDS+=("$MOCK_PID")
  exec {fd}<"$fifo"
  rm -f "$fifo"
  if ! read -r -t 20 MOCK_LINE <&"$fd"; then
    echo "the simulator did not start (bin/exa-agent-mock $*)" >&2
    [ -n "${MOCK_LOG:-}" ] && cat "$MOCK_LOG" >&2
    return 1
  fi
  MOCK_URL=${MOCK_LINE#listening }
  cat <&"$fd" >/dev/null &
}
