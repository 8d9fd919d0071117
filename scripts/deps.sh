#!/usr/bin/env bash
# Install what a make target needs, from Debian's packages only.
#   scripts/deps.sh build|test|demo
# As root it runs apt-get itself; otherwise it prints the exact command and fails.
set -euo pipefail

mode=${1:-build}

build_pkgs=(gcc make libc6-dev pkg-config ca-certificates libcurl4-openssl-dev lua-cjson
  liblua5.1-0-dev liblua5.2-dev liblua5.3-dev liblua5.4-dev libluajit2-5.1-dev)
run_pkgs=(lua5.4 lua-cqueues curl)            # the simulator runs on Lua 5.4 + cqueues
# luajit2: OpenResty's LuaJIT branch, which Debian's nginx lua module and Neovim both accept
# (the plain luajit package conflicts with libnginx-mod-http-lua).
test_pkgs=(lua5.1 lua5.2 lua5.3 luajit2 lua-busted lua-yaml openssl valgrind jq strace   # lua-yaml: the contract in mock specs; openssl: TLS tests; valgrind: tests/c; jq: the CLI's NDJSON; strace: the files the CLI writes
  nodejs neovim nginx libnginx-mod-http-lua lua-ldoc lua-markdown luarocks git zip unzip)    # nodejs: the misbehaving HTTP/1.1 + HTTP/2 peer of spec/once_spec.lua; hosts the specs start: headless Neovim (uv loop), nginx (cosocket transport); docs; rock installs (make dist: luarocks pack clones with git, zips)

case "$mode" in
  build) want=("${build_pkgs[@]}") ;;
  demo) want=("${build_pkgs[@]}" "${run_pkgs[@]}") ;;
  test) want=("${build_pkgs[@]}" "${run_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "usage: $0 build|test|demo" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: this is not a Debian-like system; install the equivalents of: ${missing[*]}" >&2
  echo "deps: (Lua 5.1-5.4/LuaJIT headers, libcurl with headers, lua-cjson, lua-cqueues, busted, curl)" >&2
  exit 1
fi

cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing Debian packages: ${missing[*]}" >&2
  echo "deps: run as root:  apt-get update && ${cmd[*]}" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have empty package lists; refresh once, then install.
if ! "${cmd[@]}" >/tmp/exa-deps.log 2>&1; then
  apt-get update >>/tmp/exa-deps.log 2>&1 || true
  if ! "${cmd[@]}" >>/tmp/exa-deps.log 2>&1; then
    tail -20 /tmp/exa-deps.log >&2
    echo "deps: apt-get failed (log: /tmp/exa-deps.log); install by hand: ${missing[*]}" >&2
    exit 1
  fi
fi
echo "deps: done"
