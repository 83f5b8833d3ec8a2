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
if cluster_answers; then exit 0; fi

if ! munge -n </dev/null >/dev/null 2>&1; then
  chown munge:munge /run/munge
  # fd 9 is the harness lock: no daemon may inherit it.
  runuser -u munge -- /usr/sbin/munged 9>&-
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
  "/usr/sbin/$daemon" 9>&-
done

for _ in $(seq 1 60); do
  if cluster_answers; then exit 0; fi
  # A node that was down when the controller last saw it comes back once told so.
  if sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(down|drain)'; then scontrol update nodename="$host" state=resume 2>/dev/null || true; fi
  sleep 0.5
done
echo "slurm-harness: the cluster did not become usable within 30 s; last log lines:" >&2
tail -n 20 "$log_dir/slurmctld.log" "$log_dir/slurmd.log" >&2 || true
sinfo -N >&2 || true
exit 1
