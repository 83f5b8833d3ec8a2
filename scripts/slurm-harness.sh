#!/usr/bin/env bash
# Makes sure a one-machine Slurm cluster answers: munged, slurmctld (this host as controller) and slurmd (this
# host as the only node), configured for a containerised machine (no cgroup plugins, no accounting daemon).
# Idempotent: daemons already answering are left alone; a slurm.conf written by someone else is never replaced.
#   scripts/slurm-harness.sh           start (or check) the cluster
#   scripts/slurm-harness.sh status    exit 0 when the cluster answers, 1 otherwise (starts nothing)
# The node offers more CPUs and memory than a small test machine has (SlurmdParameters=config_overrides), so
# several runs fit at once; the limits each job asks for are enforced on its container by the container engine.
set -euo pipefail
what=${1:-start}
conf=/etc/slurm/slurm.conf
marker='# written by xcs scripts/slurm-harness.sh'
log_dir=/var/log/slurm
node_cpus=${XCS_SLURM_CPUS:-8}
node_mem_mib=${XCS_SLURM_MEMORY_MIB:-8192}

cluster_answers() {
  # The node must be usable, not just known: idle, mixed or allocated.
  local state
  state=$(sinfo -h -N -o '%T' 2>/dev/null | head -n 1) || return 1
  case "$state" in idle*|mix*|alloc*|completing*) return 0 ;; *) return 1 ;; esac
}

if [ "$what" = status ]; then cluster_answers; exit $?; fi

# slurmrestd (Debian's slurmrestd) on 127.0.0.1:$rest_port with JWT authentication, when the controller takes
# tokens (clients send X-SLURM-USER-NAME and X-SLURM-USER-TOKEN from `scontrol token`). It refuses to run as
# root, so it drops to nobody once its socket is open; SLURM_JWT=daemon makes it pass each client's token on to
# slurmctld (without it every token is refused: "Rejecting thread config token"). Only the slurmctld API
# (openapi/v0.0.38): the database ones need slurmdbd, which this cluster has not.
rest_port=${XCS_SLURMRESTD_PORT:-6820}
rest_answers() {
  # Any HTTP answer (401 without a token) means it listens.
  [ "$(curl -s -o /dev/null -w '%{http_code}' -m 2 "http://127.0.0.1:$rest_port/openapi" 2>/dev/null)" != 000 ]
}
start_slurmrestd() {
  [ -x /usr/sbin/slurmrestd ] && [ -n "$jwt_conf" ] || return 0
  scontrol token lifespan=60 >/dev/null 2>&1 || return 0
  rest_answers && return 0
  # fd 9 is the harness lock: the daemon must not inherit it. It runs from / : one started from a checkout that was
  # removed since logged "getcwd failed" and then stopped answering, in the middle of a later test run.
  (cd / && SLURM_JWT=daemon exec setsid /usr/sbin/slurmrestd -a rest_auth/jwt -s openapi/v0.0.38 -u nobody "127.0.0.1:$rest_port" \
    </dev/null >>"$log_dir/slurmrestd.log" 2>&1 9>&-) &
  echo $! >/run/slurmrestd.pid
  for _ in $(seq 1 40); do rest_answers && return 0; sleep 0.25; done
  echo "slurm-harness: slurmrestd did not answer on 127.0.0.1:$rest_port; last log lines:" >&2
  tail -n 10 "$log_dir/slurmrestd.log" >&2 || true
  return 1
}

for bin in munged slurmctld slurmd sbatch; do
  if ! command -v "$bin" >/dev/null 2>&1; then
    echo "slurm-harness: $bin is not installed (apt-get install slurm-wlm munge)" >&2
    exit 1
  fi
done

exec 9>"${TMPDIR:-/tmp}/xcs-slurm-harness.lock"
command -v flock >/dev/null 2>&1 && flock 9

host=$(hostname -s)
mkdir -p /etc/slurm "$log_dir" /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /run/munge

# JSON web tokens as a second way in (slurmrestd's rest_auth/jwt; `scontrol token` makes them), when Debian's
# slurm-wlm-jwt-plugin is installed: without its auth_jwt plugin slurmctld would not start with these lines.
jwt_conf=''
if [ -n "$(find /usr/lib -path '*slurm*' -name auth_jwt.so -print -quit 2>/dev/null)" ]; then
  jwt_key=/var/lib/slurm/slurmctld/jwt_hs256.key
  if [ ! -s "$jwt_key" ]; then
    (umask 077; head -c 48 /dev/urandom >"$jwt_key.new") && mv "$jwt_key.new" "$jwt_key"
  fi
  jwt_conf="AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$jwt_key"
fi

if [ -f "$conf" ] && ! grep -qF "$marker" "$conf"; then
  echo "slurm-harness: $conf exists and was not written by this script; using it as it is" >&2
else
  cat >"$conf.new" <<EOF
$marker
ClusterName=xcs
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
$jwt_conf
# A container without systemd or delegated cgroups: track processes by parentage, no task containment.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# Cores and memory are consumable, so --mem and --cpus-per-task are scheduled and shown by scontrol.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without a default a job that asks for no memory gets the whole node's, and runs alone.
DefMemPerCPU=256
SchedulerType=sched/backfill
SlurmdParameters=config_overrides
ReturnToService=2
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$log_dir/slurmctld.log
SlurmdLogFile=$log_dir/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
# Ended jobs stay visible to squeue/scontrol for an hour (no accounting database here).
MinJobAge=3600
# Seconds between SIGTERM and SIGKILL on cancel and time-out: the job's trap removes its container.
KillWait=5
InactiveLimit=0
Waittime=0
SchedulerParameters=sched_interval=5
NodeName=$host NodeAddr=127.0.0.1 CPUs=$node_cpus RealMemory=$node_mem_mib State=UNKNOWN
PartitionName=xcs Nodes=$host Default=YES MaxTime=INFINITE State=UP
PartitionName=xcs-other Nodes=$host Default=NO MaxTime=INFINITE State=UP
EOF
  if cmp -s "$conf.new" "$conf"; then
    rm -f "$conf.new"
  else
    mv "$conf.new" "$conf"
    # A running cluster reads the new configuration; a stopped one reads it when started below.
    if cluster_answers; then scontrol reconfigure >/dev/null 2>&1 || true; sleep 1; fi
  fi
fi
# The authentication plugins are loaded when slurmctld starts: one running without the JWT lines (an older
# configuration) is restarted, gently (SIGTERM; jobs and their state survive a controller restart).
if [ -n "$jwt_conf" ] && cluster_answers && ! scontrol token lifespan=60 >/dev/null 2>&1; then
  pid=$(cat /run/slurmctld.pid 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  fi
fi
if cluster_answers; then start_slurmrestd; exit 0; fi

if ! munge -n </dev/null >/dev/null 2>&1; then
  chown munge:munge /run/munge
  # fd 9 is the harness lock: no daemon may inherit it.
  (cd / && exec runuser -u munge -- /usr/sbin/munged 9>&-)
  for _ in $(seq 1 20); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.25; done
fi

# Pid files of daemons killed earlier must not stop new ones.
for daemon in slurmctld slurmd; do
  pidfile=/run/$daemon.pid
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then continue; fi
    rm -f "$pidfile"
  fi
  (cd / && exec "/usr/sbin/$daemon" 9>&-)
done

for _ in $(seq 1 60); do
  if cluster_answers; then start_slurmrestd; exit 0; fi
  # A node that was down when the controller last saw it comes back once told so.
  if sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(down|drain)'; then scontrol update nodename="$host" state=resume 2>/dev/null || true; fi
  sleep 0.5
done
echo "slurm-harness: the cluster did not become usable within 30 s; last log lines:" >&2
tail -n 20 "$log_dir/slurmctld.log" "$log_dir/slurmd.log" >&2 || true
sinfo -N >&2 || true
exit 1
