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
echo "== swarm" >&2
# The multi-node swarm the swarm backend's tests run on (idempotent; those tests form it themselves too and skip
# with the reason where it cannot be formed).
bash scripts/swarm-harness.sh || echo "test.sh: no swarm here; the swarm tests will say why they skip" >&2
echo "== tests" >&2
node scripts/run-tests.mjs "$@"
