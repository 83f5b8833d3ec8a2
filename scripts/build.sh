#!/usr/bin/env bash
# Bundles the CLI (src/ and the packages it loads) into dist/cli/ for bin/xcs (scripts/bundle.mjs: esbuild;
# one file per lazily loaded part, so a command loads only what it uses; and the start-up snapshot `xcs exec`
# starts from) when any source, the installed packages or the bundling script changed since the last build (bin/xcs runs the sources through tsx while the build is stale), and
# builds the web console (web/ -> dist/web/, served at /ui/) when any of its files is newer than its last build.
# Type checking is `npm run typecheck`'s job, not the build's.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p dist
# One build at a time: test files running in parallel may each ask for it.
exec 9>dist/.build.lock
flock 9
lock=node_modules/.package-lock.json
if [ ! -f dist/.built ] || [ -n "$(find src -newer dist/.built -name '*.ts' -print -quit)" ] \
   || [ package-lock.json -nt dist/.built ] || [ scripts/bundle.mjs -nt dist/.built ] || { [ -f "$lock" ] && [ "$lock" -nt dist/.built ]; }; then
  echo "build: bundling the CLI into dist/cli/" >&2
  mkdir -p dist
  touch dist/.building   # stamped before bundling, so an edit made meanwhile still counts as newer
  # Chunk names change with their content: start from an empty folder (and drop the per-file output of
  # the former tsc build, if any).
  find dist -mindepth 1 -maxdepth 1 ! -name web ! -name '.web-built' ! -name '.web-building' ! -name '.building' ! -name '.build.lock' -exec rm -rf {} +
  node scripts/bundle.mjs
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
