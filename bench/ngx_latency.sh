#!/usr/bin/env bash
# bench/ngx_latency.lua from the checkout (make bench-ngx; section 5 of bench/run.sh).
# Needs nginx, libnginx-mod-http-lua and build/jit/exa/core.so (make build).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;$root/spec/?.lua;;" LUA_CPATH="$root/build/5.4/?.so;;" \
  exec lua5.4 bench/ngx_latency.lua
