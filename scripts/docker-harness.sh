#!/usr/bin/env bash
# Makes sure a Docker engine answers and the local test/demo images exist.
# No registry is reachable here: every image is built FROM scratch out of
# Debian binaries (busybox-static, dcm2niix and its shared libraries).
#   scripts/docker-harness.sh            engine + all images
#   scripts/docker-harness.sh engine     engine only
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}

engine_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start_engine() {
  if engine_answers; then return 0; fi
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "docker-harness: dockerd is not installed (apt-get install docker.io)" >&2
    return 1
  fi
  # An engine killed earlier leaves pid files behind that make dockerd refuse to start.
  for pidfile in /var/run/docker.pid /run/docker/containerd/containerd.pid; do
    if [ -f "$pidfile" ]; then
      pid=$(cat "$pidfile" 2>/dev/null || true)
      if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then rm -f "$pidfile"; fi
    fi
  done
  rm -f /var/run/docker.sock
  echo "docker-harness: starting dockerd in the background (log: /var/log/xcs-dockerd.log)" >&2
  # fd 9 is the harness lock: the daemon must not inherit it, or it would hold the lock for its whole life. It runs
  # from / : a daemon left in a checkout's directory keeps it busy, and a removed checkout under its feet.
  (cd / && exec nohup dockerd >/var/log/xcs-dockerd.log 2>&1 9>&-) &
  for _ in $(seq 1 60); do
    if engine_answers; then return 0; fi
    sleep 1
  done
  echo "docker-harness: dockerd did not answer within 60 s; last log lines:" >&2
  tail -n 20 /var/log/xcs-dockerd.log >&2 || true
  return 1
}

# Copies a binary and the shared libraries it loads into a build context.
copy_with_libs() {
  local bin=$1 ctx=$2
  mkdir -p "$ctx/rootfs$(dirname "$bin")"
  cp -L "$bin" "$ctx/rootfs$bin"
  ldd "$bin" | awk '/=>/ {print $3} /^\t\/lib/ {print $1}' | while read -r lib; do
    [ -n "$lib" ] && [ -f "$lib" ] || continue
    mkdir -p "$ctx/rootfs$(dirname "$lib")"
    cp -L "$lib" "$ctx/rootfs$lib"
  done
}

build_image() {
  local tag=$1 dir=$2
  local ctx
  ctx=$(mktemp -d)
  cp -r "$dir/." "$ctx/"
  mkdir -p "$ctx/rootfs/bin"
  cp /bin/busybox "$ctx/rootfs/bin/busybox"
  if [ -f "$dir/binaries" ]; then
    while read -r b; do [ -n "$b" ] && copy_with_libs "$b" "$ctx"; done < "$dir/binaries"
  fi
  # Whole directories (e.g. Python's standard library), without test suites and build files, and the
  # shared libraries of the extension modules in them.
  if [ -f "$dir/trees" ]; then
    while read -r t; do
      [ -n "$t" ] && [ -d "$t" ] || continue
      mkdir -p "$ctx/rootfs$t"
      (cd "$t" && tar -cf - --exclude='./test' --exclude='./config-*' --exclude='./idlelib' --exclude='./tkinter' \
        --exclude='./lib2to3' --exclude='./ensurepip' --exclude='./pydoc_data' --exclude='__pycache__' --exclude='./dist-packages' \
        --exclude='./site-packages' .) | (cd "$ctx/rootfs$t" && tar -xf -)
      find "$ctx/rootfs$t" -name '*.so' | while read -r so; do copy_with_libs "${so#"$ctx/rootfs"}" "$ctx"; done
    done < "$dir/trees"
  fi
  # Same content gives the same layer checksums, so a second build is served from the cache.
  find "$ctx" -exec touch -h -d '2000-01-01T00:00:00Z' {} +
  if ! DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" >/dev/null 2>"$ctx.err"; then
    cat "$ctx.err" >&2
    rm -rf "$ctx" "$ctx.err"
    return 1
  fi
  rm -rf "$ctx" "$ctx.err"
  echo "docker-harness: built $tag" >&2
}

# Several test processes (and engineers) may run this at once: one builds, the others then hit the cache.
exec 9>"${TMPDIR:-/tmp}/xcs-docker-harness.lock"
command -v flock >/dev/null 2>&1 && flock 9

start_engine
[ "$what" = engine ] && exit 0

if [ ! -x /bin/busybox ]; then
  echo "docker-harness: /bin/busybox missing (apt-get install busybox-static)" >&2
  exit 1
fi
for dir in "$here"/docker/images/*/; do
  [ -f "$dir/Dockerfile" ] || continue
  tag=$(cat "$dir/tag")
  build_image "$tag" "$dir"
done
