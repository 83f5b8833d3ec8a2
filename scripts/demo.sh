#!/usr/bin/env bash
# The main job. Until the run engine exists it validates the example commands and prints the report.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
bin/xcs validate examples/commands/*.json
