#!/usr/bin/env bash
# make dist: the four source rocks of what is committed (HEAD) in dist/, each
# installed into an empty LuaRocks tree as a user would, then smoke-tested; and
# the same from a fresh checkout with `luarocks make --deps-mode=none <scm rockspec>`:
#   - exa-agent for Lua 5.1, 5.4 and LuaJIT: a script outside the checkout
#     requires exa from the tree and streams a run against the simulator;
#   - exa-agent-mock for Lua 5.4 into a tree whose default Lua is 5.1: the tree's
#     bin/exa-agent-mock --port 0 prints its listening line (the last one started
#     is the simulator the client smoke tests talk to).
# The rocks are made by `luarocks pack`, which clones source.url at source.tag;
# with no network, git's url.<base>.insteadOf points that URL at a bare clone of
# this repository where v<VERSION> tags HEAD. Installs use --deps-mode=none
# (lua-cjson and cqueues come from Debian's packages here).
#   DIST_LUAS="5.4" scripts/dist.sh     choose the Luas of the client smoke tests
#   DIST_WORKTREE=1 scripts/dist.sh      pack the working tree (tracked and untracked files
#                                        git does not ignore) instead of HEAD: what the spec does
#   DIST_OUT=/some/dir scripts/dist.sh   where the rocks go (default dist/)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LUAS=${DIST_LUAS:-"5.1 5.4 jit"}
OUT=${DIST_OUT:-dist}

lua5.4 scripts/rockspecs.lua
VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)
URL=$(sed -n 's/^ *url = "git+\(.*\)",$/\1/p' exa-agent-scm-1.rockspec | head -1)
if [ -z "${DIST_WORKTREE:-}" ] && [ -n "$(git status --porcelain)" ]; then
  echo "dist: note: uncommitted changes are not in the rocks (they pack HEAD $(git rev-parse --short HEAD))" >&2
fi

work=$(mktemp -d /tmp/exa-dist.XXXXXX)
MOCK_PID=
cleanup() {
  if [ -n "$MOCK_PID" ]; then kill "$MOCK_PID" 2>/dev/null || true; wait "$MOCK_PID" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# 1. The stand-in for the repository URL: HEAD (or the working tree) on a branch, tagged v$VERSION.
if [ -n "${DIST_WORKTREE:-}" ]; then
  git init -q --bare "$work/repo.git"
  export GIT_INDEX_FILE="$work/index" GIT_AUTHOR_NAME=dist GIT_AUTHOR_EMAIL=dist@localhost \
    GIT_COMMITTER_NAME=dist GIT_COMMITTER_EMAIL=dist@localhost
  git ls-files -z -co --exclude-standard | git update-index -z --add --stdin
  tree_id=$(git write-tree)
  head=$(git commit-tree -m "dist: the working tree" "$tree_id")
  git push -q "$work/repo.git" "$head:refs/heads/dist"
  unset GIT_INDEX_FILE
else
  git clone -q --bare --no-local "$ROOT" "$work/repo.git"
  head=$(git rev-parse HEAD)
fi
git --git-dir="$work/repo.git" update-ref refs/heads/dist "$head"
git --git-dir="$work/repo.git" symbolic-ref HEAD refs/heads/dist
git --git-dir="$work/repo.git" tag -f "v$VERSION" "$head" >/dev/null
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0="url.file://$work/repo.git.insteadOf" GIT_CONFIG_VALUE_0="$URL"

# 2. Pack.
mkdir -p "$OUT"
rm -f "$OUT"/*.src.rock
OUT=$(cd "$OUT" && pwd)
rocks=()
for spec in exa-agent-scm-1 "exa-agent-$VERSION-1" exa-agent-mock-scm-1 "exa-agent-mock-$VERSION-1"; do
  (cd "$OUT" && luarocks pack "$ROOT/$spec.rockspec" >"$work/pack-$spec.log" 2>&1) || {
    cat "$work/pack-$spec.log" >&2; echo "dist: luarocks pack $spec.rockspec failed" >&2; exit 1; }
  rocks+=("$OUT/$spec.src.rock")
  echo "dist: packed $spec.src.rock ($(wc -c <"$OUT/$spec.src.rock") bytes)"
done

# LuaRocks for LuaJIT: Debian's luarocks knows the 5.x interpreters; LuaJIT needs a config.
cat >"$work/luajit-config.lua" <<EOF
lua_version = "5.1"
lua_interpreter = "luajit"
variables = { LUA_DIR = "/usr", LUA_BINDIR = "/usr/bin", LUA_INCDIR = "${INC_jit:-/usr/include/luajit-2.1}" }
EOF
luarocks_for() { # luarocks_for <5.1|5.4|jit> args...
  local tag=$1; shift
  if [ "$tag" = jit ]; then LUAROCKS_CONFIG="$work/luajit-config.lua" luarocks "$@"
  else luarocks --lua-version "$tag" "$@"; fi
}
interp() { case "$1" in jit) echo luajit ;; *) echo "lua$1" ;; esac; }

# A place outside the checkout, with nothing of ours on any path.
outside="$work/outside"
mkdir -p "$outside"
cat >"$outside/smoke.lua" <<'EOF'
-- From the installed tree only: exa, exa.core, and a run streamed to its end.
local tree = assert(os.getenv("SMOKE_TREE"))
local exa = require "exa"
local src = debug.getinfo(exa.new, "S").source:gsub("^@", "")
assert(src:sub(1, #tree) == tree, "exa came from " .. src .. ", not from " .. tree)
local core
for t in package.cpath:gmatch("[^;]+") do
  local f = io.open((t:gsub("%?", "exa/core")), "rb")
  if f then f:close(); core = t:gsub("%?", "exa/core"); break end
end
assert(core and core:sub(1, #tree) == tree, "exa.core came from " .. tostring(core))
local client = exa.new{}
local n, last, id = 0, nil, nil
for ev in client.runs:stream{ query = "smoke test of the installed rock", effort = "low" } do
  n = n + 1
  last = ev.event
  if ev.event == "agent_run.created" then id = ev.data.id end
end
assert(last == "agent_run.completed", "the stream ended with " .. tostring(last))
assert(client.runs:get(id).status == "completed")
print(("%s: exa %s, %d events, run %s completed"):format(type(jit) == "table" and jit.version or _VERSION,
  exa.VERSION, n, id))
EOF

# A fresh checkout of the same commit, for `luarocks make`.
git clone -q "file://$work/repo.git" "$work/checkout"

# place <how> <spec> <tag> <tree>: install a source rock (how=install) or make the
# scm rockspec in the fresh checkout (how=make) into an empty tree.
place() {
  local how=$1 spec=$2 tag=$3 tree=$4 log="$work/$1-$2-$3.log"
  mkdir -p "$tree"
  if [ "$how" = install ]; then
    luarocks_for "$tag" --tree "$tree" install --deps-mode=none "$OUT/$spec.src.rock" >"$log" 2>&1
  else
    (cd "$work/checkout" && luarocks_for "$tag" --tree "$tree" make --deps-mode=none "$spec.rockspec") >"$log" 2>&1
  fi || { cat "$log" >&2; echo "dist: luarocks $how $spec for $tag failed" >&2; exit 1; }
}

# 3. The simulator, for 5.4, into trees whose default Lua is 5.1.
key="dist-key-$$"
for job in "install exa-agent-mock-scm-1" "install exa-agent-mock-$VERSION-1" "make exa-agent-mock-scm-1"; do
  set -- $job
  how=$1 spec=$2
  tree="$work/tree-$how-$spec"
  mkdir -p "$tree"
  default=$(luarocks --tree "$tree" config lua_version)
  place "$how" "$spec" 5.4 "$tree"
  if [ -n "$(find "$tree" -name 'exa.lua' -o -path '*/exa/*' -o -name 'core.so')" ]; then
    echo "dist: $spec installed part of the client:" >&2; find "$tree" -name 'exa.lua' -o -path '*/exa/*' >&2; exit 1
  fi
  if [ -n "$MOCK_PID" ]; then kill "$MOCK_PID"; wait "$MOCK_PID" 2>/dev/null || true; MOCK_PID=; fi
  fifo="$work/mock.fifo"
  rm -f "$fifo"
  mkfifo "$fifo"
  (cd "$outside" && exec env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 -u LUA_INIT \
    "$tree/bin/exa-agent-mock" --port 0 --api-key "$key" --speed 200 >"$fifo" 2>"$work/mock.err") &
  MOCK_PID=$!
  exec {fd}<"$fifo"
  if ! read -r -t 20 line <&"$fd" || [ "${line#listening http://}" = "$line" ]; then
    cat "$work/mock.err" >&2
    echo "dist: $tree/bin/exa-agent-mock did not print its listening line" >&2
    exit 1
  fi
  cat <&"$fd" >/dev/null &
  MOCK_URL=${line#listening }
  echo "dist: $spec (luarocks $how) for Lua 5.4 into a tree whose default Lua is $default; bin/exa-agent-mock: $line"
done

# 4. The client, into an empty tree per Lua, smoke-tested against that simulator.
for job in "install exa-agent-scm-1" "install exa-agent-$VERSION-1" "make exa-agent-scm-1"; do
  set -- $job
  how=$1 spec=$2
  for tag in $LUAS; do
    tree="$work/tree-$how-$spec-$tag"
    place "$how" "$spec" "$tag" "$tree"
    if [ -n "$(find "$tree" -path '*exa_mock*' -o -name 'exa-agent-mock')" ]; then
      echo "dist: $spec installed part of the simulator:" >&2; find "$tree" -path '*exa_mock*' >&2; exit 1
    fi
    paths=$(luarocks_for "$tag" --tree "$tree" path)
    out=$(cd "$outside" && env -u LUA_INIT -u LUA_PATH_5_4 -u LUA_CPATH_5_4 bash -c "$paths
      export SMOKE_TREE='$tree' EXA_API_KEY='$key' EXA_BASE_URL='$MOCK_URL'
      exec $(interp "$tag") smoke.lua" 2>&1) || {
      echo "$out" >&2; echo "dist: the smoke test of $spec under $tag failed" >&2; exit 1; }
    echo "dist: $spec (luarocks $how) for $tag: $out"
    # the tree's bin/exa-agent finds the tree's modules by itself: no `luarocks path`
    cli=$(cd "$outside" && env -u LUA_PATH -u LUA_CPATH -u LUA_INIT -u LUA_PATH_5_4 -u LUA_CPATH_5_4 \
      EXA_API_KEY="$key" EXA_BASE_URL="$MOCK_URL" "$tree/bin/exa-agent" list --limit 1 --json 2>&1) || {
      echo "$cli" >&2; echo "dist: $tree/bin/exa-agent (no luarocks path) failed under $tag" >&2; exit 1; }
  done
done

echo "dist: ${#rocks[@]} source rocks in $OUT, each installed into an empty tree and smoke-tested; luarocks make from a checkout too"
