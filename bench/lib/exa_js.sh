# bench/lib/exa_js.sh: exa-js, pinned, from the npm registry into bench/.node
# (not committed), with the bench's .mjs clients beside it (source this file).
#   ensure_exa_js    true when node can run bench/.node/*.mjs against exa-js
EXA_JS_VERSION=2.23.0

ensure_exa_js() {
  command -v node >/dev/null 2>&1 || return 1
  if [ ! -d bench/.node/node_modules/exa-js ] && command -v npm >/dev/null 2>&1; then
    mkdir -p bench/.node
    (cd bench/.node && npm install --no-audit --no-fund --silent "exa-js@$EXA_JS_VERSION" >/dev/null 2>&1) || true
  fi
  [ -d bench/.node/node_modules/exa-js ] || return 1
  cp bench/*.mjs bench/.node/ # they resolve exa-js from their own directory
}
