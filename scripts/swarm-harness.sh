#!/usr/bin/env bash
# A real multi-node Docker Swarm on this one machine, for the swarm backend's tests and benchmark.
#
#   scripts/swarm-harness.sh          form it (idempotent: what already stands is kept)
#   scripts/swarm-harness.sh status   exit 0 when it stands, 1 otherwise
#   scripts/swarm-harness.sh down     dissolve it (the workers leave and stop, the manager leaves the swarm)
#
# Manager: the local engine (`docker swarm init --advertise-addr 127.0.0.1`), drained. Workers: two more dockerds,
# each with its own data root, exec root, pid file, socket (/run/xcs-swarm-worker-N/docker.sock) and containerd
# namespaces, without a bridge or iptables rules, joined advertising 127.0.0.2 and 127.0.0.3. All swarm traffic
# (control on 2377, gossip on 7946, data path) stays on 127.0.0.0/8. The test images are copied into the workers
# with `docker save | docker load` (there is no registry). Node labels `xcs-node=worker-1` / `worker-2` let tests
# place runs.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-up}

# Workers: index → address. The manager runs no tasks (availability drain, as production swarms often do): the local
# engine is shared with the Docker backend's tests and keeps its default bridge, while the workers run with
# `--bridge=none`, so a task that asks for no network gets only loopback (swarm has no `none` network).
WORKERS=(1 2)
worker_addr() { echo "127.0.0.$(( $1 + 1 ))"; }
worker_dir() { echo "/run/xcs-swarm-worker-$1"; }
worker_sock() { echo "unix://$(worker_dir "$1")/docker.sock"; }

manager() { docker "$@"; }
worker() { local i=$1; shift; docker -H "$(worker_sock "$i")" "$@"; }

manager_state() { manager info --format '{{.Swarm.LocalNodeState}}/{{.Swarm.ControlAvailable}}' 2>/dev/null || echo none; }
worker_state() { worker "$1" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo none; }

worker_node_ready() {
  local id
  id=$(worker "$1" info --format '{{.Swarm.NodeID}}' 2>/dev/null) || return 1
  [ -n "$id" ] && [ "$(manager node inspect "$id" --format '{{.Status.State}}' 2>/dev/null)" = ready ]
}

stands() {
  [ "$(manager_state)" = active/true ] || return 1
  for i in "${WORKERS[@]}"; do
    [ "$(worker_state "$i")" = active ] && worker_node_ready "$i" || return 1
  done
}

start_worker_engine() {
  local i=$1 dir root log pidfile
  if worker "$i" version >/dev/null 2>&1; then return 0; fi
  dir=$(worker_dir "$i"); root="/var/lib/xcs-swarm-worker-$i"; log="/var/log/xcs-swarm-worker-$i.log"; pidfile="$dir/dockerd.pid"
  mkdir -p "$dir" "$root"
  if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then rm -f "$pidfile"; fi
  rm -f "$dir/docker.sock"
  echo "swarm-harness: starting worker $i's dockerd (log: $log)" >&2
  # DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: a task's image is never looked up in a registry (there is none here; XCS
  # names images by id, which swarm never pulls, but `docker service create` in the benchmark's baseline uses tags).
  # fd 9 is the harness lock: the daemon must not inherit it. It runs from / (not from a checkout that may go).
  (cd / && DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 exec nohup dockerd \
    --host "$(worker_sock "$i")" \
    --data-root "$root" \
    --exec-root "$dir/exec" \
    --pidfile "$pidfile" \
    --containerd-namespace "xcs-swarm-worker-$i" \
    --containerd-plugins-namespace "xcs-swarm-worker-$i-plugins" \
    --cgroup-parent "/xcs-swarm-worker-$i" \
    --bridge=none --iptables=false --ip-masq=false --ip-forward=false \
    >"$log" 2>&1 9>&-) &
  for _ in $(seq 1 60); do
    if worker "$i" version >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "swarm-harness: worker $i's dockerd did not answer within 60 s; last log lines:" >&2
  tail -n 20 "$log" >&2 || true
  return 1
}

init_manager() {
  case "$(manager_state)" in
    active/true) ;;
    inactive/false)
      echo "swarm-harness: docker swarm init on the local engine (127.0.0.1)" >&2
      manager swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 --data-path-addr 127.0.0.1 >/dev/null
      ;;
    *)
      echo "swarm-harness: the local engine is in swarm state $(manager_state); fix it by hand (docker swarm leave --force)" >&2
      return 1
      ;;
  esac
  # The routing mesh is not used (services get the host network or none): without its overlay (and the gateway
  # bridge it brings) no address outside 127.0.0.0/8 is assigned, and the nodes, sharing one network namespace, do
  # not fight over its VXLAN interface.
  if manager network inspect ingress >/dev/null 2>&1; then echo y | manager network rm ingress >/dev/null 2>&1 || true; fi
  if manager network inspect docker_gwbridge >/dev/null 2>&1; then manager network rm docker_gwbridge >/dev/null 2>&1 || true; fi
  # Nodes report every second, so a worker that stops answering is down after a few seconds (tests stop one).
  if [ "$(manager info --format '{{.Swarm.Cluster.Spec.Dispatcher.HeartbeatPeriod}}')" != 1s ]; then
    manager swarm update --dispatcher-heartbeat 1s >/dev/null
  fi
  manager node update --availability drain --label-add xcs-node=manager "$(manager info --format '{{.Swarm.NodeID}}')" >/dev/null
}

join_worker() {
  local i=$1 token
  if [ "$(worker_state "$i")" = active ]; then
    # A member that was unreachable for a moment (a test froze it) comes back by itself.
    for _ in $(seq 1 15); do
      if worker_node_ready "$i"; then return 0; fi
      sleep 1
    done
  fi
  if [ "$(worker_state "$i")" != inactive ]; then worker "$i" swarm leave --force >/dev/null 2>&1 || true; fi
  token=$(manager swarm join-token -q worker)
  echo "swarm-harness: joining worker $i ($(worker_addr "$i"))" >&2
  worker "$i" swarm join --token "$token" --listen-addr "$(worker_addr "$i"):2377" --advertise-addr "$(worker_addr "$i")" \
    --data-path-addr "$(worker_addr "$i")" 127.0.0.1:2377 >/dev/null
  for _ in $(seq 1 30); do
    if worker_node_ready "$i"; then return 0; fi
    sleep 1
  done
  echo "swarm-harness: worker $i joined but is not ready" >&2
  return 1
}

label_worker() {
  local i=$1
  manager node update --availability active --label-add "xcs-node=worker-$i" "$(worker "$i" info --format '{{.Swarm.NodeID}}')" >/dev/null
}

forget_dead_nodes() {
  # Nodes left behind by earlier workers (a worker whose data root was wiped joins as a new node).
  local live
  live=" $(for i in "${WORKERS[@]}"; do worker "$i" info --format '{{.Swarm.NodeID}}'; done | tr '\n' ' ') "
  manager node ls --filter role=worker --format '{{.ID}}' | while read -r id; do
    case "$live" in *" $id "*) ;; *) manager node rm --force "$id" >/dev/null 2>&1 || true ;; esac
  done
}

copy_images() {
  local i=$1 tag mine theirs
  for dir in "$here"/docker/images/*/; do
    [ -f "$dir/tag" ] || continue
    tag=$(cat "$dir/tag")
    mine=$(manager image inspect --format '{{.Id}}' "$tag" 2>/dev/null) || continue
    theirs=$(worker "$i" image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
    if [ "$mine" != "$theirs" ]; then
      manager save "$tag" | worker "$i" load -q >/dev/null
      echo "swarm-harness: copied $tag to worker $i" >&2
    fi
  done
}

down() {
  local i pid
  for i in "${WORKERS[@]}"; do
    if worker "$i" version >/dev/null 2>&1; then
      worker "$i" swarm leave --force >/dev/null 2>&1 || true
      pid=$(cat "$(worker_dir "$i")/dockerd.pid" 2>/dev/null || true)
      if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      fi
    fi
  done
  if [ "$(manager_state)" != inactive/false ]; then manager swarm leave --force >/dev/null 2>&1 || true; fi
}

case "$what" in
  status) stands; exit $? ;;
  down) down; exit 0 ;;
  up) ;;
  *) echo "usage: $0 [up|status|down]" >&2; exit 2 ;;
esac

# The manager's engine and the test images first (the Docker harness takes its own lock).
bash "$here/scripts/docker-harness.sh"

exec 9>"${TMPDIR:-/tmp}/xcs-swarm-harness.lock"
command -v flock >/dev/null 2>&1 && flock 9

if ! command -v dockerd >/dev/null 2>&1; then
  echo "swarm-harness: dockerd is not installed (apt-get install docker.io)" >&2
  exit 1
fi
for i in "${WORKERS[@]}"; do start_worker_engine "$i"; done
init_manager
for i in "${WORKERS[@]}"; do join_worker "$i"; label_worker "$i"; copy_images "$i"; done
forget_dead_nodes
echo "swarm-harness: swarm ready: manager 127.0.0.1 (drained), workers $(for i in "${WORKERS[@]}"; do printf '%s ' "$(worker_addr "$i")"; done)" >&2
