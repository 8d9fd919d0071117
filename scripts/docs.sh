#!/usr/bin/env bash
# The API reference with LDoc (config.ld): scripts/docs.sh [OUTPUT_DIR, default docs/api]
# Fails on any warning. LDoc prints some warnings (an unresolved @{ref}) without
# failing even with --fatalwarnings, so every line of its output that is not
# one of its two progress lines counts as a warning.
# Markdown needs lua-markdown, which Debian installs for Lua 5.1: LDoc runs under
# the first Lua that has both.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/api}
ldoc=$(command -v ldoc) || { echo "docs: needs ldoc (Debian: apt-get install lua-ldoc; or luarocks install ldoc)" >&2; exit 1; }
lua=
for l in lua5.1 lua5.2 lua5.3 lua5.4 lua; do
  if command -v "$l" >/dev/null && "$l" -e 'require "ldoc.tools"; require "markdown"' 2>/dev/null; then lua=$l; break; fi
done
if [ -z "$lua" ]; then
  echo "docs: needs LDoc and lua-markdown under one Lua (Debian: apt-get install lua-ldoc lua-markdown)" >&2
  exit 1
fi
mkdir -p "$out"
log=$("$lua" "$ldoc" --fatalwarnings --testing -d "$out" . 2>&1) || { echo "$log" >&2; echo "docs: ldoc failed" >&2; exit 1; }
warnings=$(echo "$log" | grep -vE '^(reading configuration from config\.ld|output written to .*)$' || true)
if [ -n "$warnings" ]; then
  echo "$warnings" >&2
  echo "docs: ldoc warned (above); the reference must build without warnings" >&2
  exit 1
fi
echo "docs: API reference in $out/index.html"
