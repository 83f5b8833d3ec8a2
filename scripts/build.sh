#!/usr/bin/env bash
# Compiles src/ to dist/ for bin/xcs when any source is newer than the last build
# (bin/xcs runs the sources through tsx while the build is stale).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f dist/.built ] || [ -n "$(find src -newer dist/.built -name '*.ts' -print -quit)" ]; then
  echo "build: compiling src/ to dist/" >&2
  mkdir -p dist
  touch dist/.building   # stamped before compiling, so an edit made meanwhile still counts as newer
  npx tsc -p tsconfig.build.json
  mv dist/.building dist/.built
fi
