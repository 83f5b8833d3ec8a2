#!/usr/bin/env bash
# Installs everything XCS and its tests need on a Debian 12 machine (run as root).
# Safe to run again: each step is skipped when already done.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

need_node_major=20
if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js ${need_node_major}.19+ is required (node not found)" >&2; exit 1
fi

# Debian packages: the Docker engine, busybox for FROM-scratch images, dcm2niix
# for the demo image, pyxnat for the client-compatibility tests, curl for the README's session (tested),
# chromium for the web console's browser tests (driven by playwright-core, which downloads no browser),
# aiosmtpd (a real SMTP server) and prometheus-client (a real exposition parser) for the operations tests,
# slurm-wlm and munge for the one-machine Slurm cluster of the Slurm backend's tests (scripts/slurm-harness.sh).
# postgresql for the PostgreSQL store and replica tests (scripts/postgres-harness.sh); libpq-dev to build pg-native.
pkgs=(docker.io busybox-static slurm-wlm slurmrestd slurm-wlm-jwt-plugin munge postgresql libpq-dev dcm2niix python3-pyxnat python3-requests python3-aiosmtpd python3-prometheus-client zip unzip curl chromium)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm dependencies, only when the lock file changed since the last install.
stamp=node_modules/.xcs-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

bash scripts/build.sh
bash scripts/docker-harness.sh
