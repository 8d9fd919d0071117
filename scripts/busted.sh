#!/usr/bin/env bash
# Run busted from the checkout under one Lua: scripts/busted.sh <tag> [busted args...]
#   tag: 5.1 5.2 5.3 5.4 jit      e.g.  scripts/busted.sh 5.4 spec/sse_spec.lua
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:?usage: scripts/busted.sh <5.1|5.2|5.3|5.4|jit> [busted args...]}
shift
case "$tag" in
  jit) lua=luajit ;;
  *) lua=lua$tag ;;
esac
export LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;$PWD/spec/?.lua;;"
export LUA_CPATH="$PWD/build/$tag/?.so;;"
export EXA_TEST_LUA_TAG="$tag"
exec "$lua" /usr/bin/busted "$@"
