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
echo "== swarm and slurm" >&2
# The real engines the Swarm and Slurm backends' tests run on: a multi-node swarm (the local engine as a drained
# manager, two more dockerd as workers on 127.0.0.2/3) and a one-machine Slurm cluster (munged, slurmctld, slurmd).
# Both scripts are idempotent; a machine that cannot form them fails here rather than skipping those tests.
bash scripts/swarm-harness.sh
bash scripts/slurm-harness.sh
echo "== tests" >&2
node scripts/run-tests.mjs "$@"
