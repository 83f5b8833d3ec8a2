#!/usr/bin/env bash
# The one command that runs every check: set-up, type-check, lint, then all tests.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
echo "== type-check" >&2
npx tsc --noEmit -p .
npx tsc --noEmit -p web/tsconfig.json
npx tsc --noEmit -p web/tsconfig.node.json
echo "== lint" >&2
npx eslint . --max-warnings=0
echo "== tests" >&2
node scripts/run-tests.mjs "$@"
