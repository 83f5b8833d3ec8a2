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
echo "== tests on SQLite" >&2
status=0
node scripts/run-tests.mjs "$@" || status=$?
# The suite again with every store on PostgreSQL (Debian's cluster, a fresh test database, one schema per test data
# directory), leaving out what never touches a database: the command model, matcher and resolution units, the
# backends' conformance suites, the layering and corpus checks, and `xcs exec` (the author's loop has no server).
echo "== tests on PostgreSQL" >&2
pg_url=$(XCS_PG_FRESH=1 bash scripts/postgres-harness.sh)
XCS_DATABASE_URL=$pg_url XCS_DATABASE_SCHEMA_PER_DATA_DIR=1 node scripts/run-tests.mjs "$@" \
  --exclude=src/command/ --exclude=src/matcher/ --exclude=src/resolution/ --exclude=src/backends/ --exclude=src/authoring/ \
  --exclude=test/backend- --exclude=test/author- --exclude=test/layering --exclude=test/command-corpus \
  --exclude=test/resolve-corpus --exclude=test/error-status || status=$?
exit "$status"
