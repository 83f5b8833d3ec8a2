#!/usr/bin/env bash
# The PostgreSQL server the tests and benchmarks run on: Debian's cluster, started with pg_ctlcluster, with a role
# and a database for XCS. Idempotent. Prints the database URL on stdout.
#   XCS_PG_DATABASE  the database to (re)create empty when XCS_PG_FRESH=1 (default xcs_test)
set -euo pipefail
db=${XCS_PG_DATABASE:-xcs_test}
version=$(pg_lsclusters -h 2>/dev/null | awk 'NR==1 {print $1}')
if [ -z "$version" ]; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
  pg_createcluster "$version" main >/dev/null
fi
conf=/etc/postgresql/$version/main/conf.d/xcs.conf
want="# XCS tests: many short-lived servers, each with its own connections; a crash may lose the last commits.
max_connections = 400
listen_addresses = '127.0.0.1'
synchronous_commit = off
"
# Compared byte for byte ($(cat) would drop the final newline and restart the cluster on every call).
if ! printf '%s' "$want" | cmp -s - "$conf"; then
  printf '%s' "$want" >"$conf"
  pg_ctlcluster "$version" main stop >/dev/null 2>&1 || true
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}' | grep -q online; then
  pg_ctlcluster "$version" main start >&2  # it may say "Removed stale pid file.": stdout carries the URL only
fi
for _ in $(seq 1 50); do
  su postgres -c "psql -qtAc 'SELECT 1'" >/dev/null 2>&1 && break
  sleep 0.2
done
psql_() { su postgres -c "psql -v ON_ERROR_STOP=1 -qtAc \"$1\""; }
[ "$(psql_ "SELECT 1 FROM pg_roles WHERE rolname = 'xcs'")" = 1 ] || psql_ "CREATE ROLE xcs LOGIN PASSWORD 'xcs'"
if [ "${XCS_PG_FRESH:-0}" = 1 ]; then
  psql_ "DROP DATABASE IF EXISTS $db WITH (FORCE)"
fi
[ "$(psql_ "SELECT 1 FROM pg_database WHERE datname = '$db'")" = 1 ] || psql_ "CREATE DATABASE $db OWNER xcs"
echo "postgres://xcs:xcs@127.0.0.1:5432/$db"
