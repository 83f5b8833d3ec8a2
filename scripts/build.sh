#!/usr/bin/env bash
# Compiles src/ to dist/ for bin/xcs when any source is newer than the last build
# (bin/xcs runs the sources through tsx while the build is stale), and builds the web console
# (web/ -> dist/web/, served at /ui/) when any of its files is newer than its last build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f dist/.built ] || [ -n "$(find src -newer dist/.built -name '*.ts' -print -quit)" ]; then
  echo "build: compiling src/ to dist/" >&2
  mkdir -p dist
  touch dist/.building   # stamped before compiling, so an edit made meanwhile still counts as newer
  npx tsc -p tsconfig.build.json
  mv dist/.building dist/.built
fi
if [ ! -f dist/.web-built ] || [ ! -f dist/web/index.html ] \
   || [ -n "$(find web package-lock.json -newer dist/.web-built -type f -print -quit)" ]; then
  echo "build: building the web console (web/ to dist/web/)" >&2
  mkdir -p dist
  touch dist/.web-building
  npx vite build --config web/vite.config.ts --logLevel warn
  mv dist/.web-building dist/.web-built
fi
