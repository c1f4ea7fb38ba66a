#!/usr/bin/env bash
# A real single-node Slurm cluster (Debian's slurm-wlm + munge, no systemd,
# as root) for the Slurm executor's tests and CI.
#
# Usage: tests/slurm/cluster.sh install|start|env|status|stop
#   install  apt-get the minimal package set (slurmctld slurmd slurm-client munge)
#   start    munge key + munged + slurm.conf + slurmctld + slurmd; waits until the node is idle
#   env      prints 'export SLURM_CONF=…' for later steps (clients need it)
#   status   sinfo and all jobs
#   stop     scontrol shutdown, then stops the daemons by the PIDs in their pid files
# Everything (config, state, spool, logs, pids, munge socket and key) lives
# under $SLURM_BASE (default /tmp/implicit-reg-slurm).
set -euo pipefail

SLURM_BASE=${SLURM_BASE:-${TMPDIR:-/tmp}/implicit-reg-slurm}
CTLD_PORT=${CTLD_PORT:-6817}
SLURMD_PORT=${SLURMD_PORT:-6818}
# More CPUs than the machine has (allowed by config_overrides): fan-out tests
# run several jobs at once even on 2 cores.
NODE_CPUS=${NODE_CPUS:-4}
export SLURM_CONF="$SLURM_BASE/etc/slurm.conf"
MUNGE_DIR="$SLURM_BASE/munge"
MUNGE_SOCK="$MUNGE_DIR/munge.socket.2"

log() { printf '[cluster.sh %s] %s\n' "$(date +%T)" "$*" >&2; }

# wait_for <timeout-s> <description> <command...>
wait_for() {
  local t=$1 what=$2
  shift 2
  local end=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= end)); then
      log "timed out waiting for: $what"
      return 1
    fi
    sleep 0.2
  done
}

do_install() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null && command -v munged >/dev/null; then
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # --no-install-recommends: 7 packages instead of ~30 plugin packages.
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
}

write_conf() {
  cat >"$SLURM_CONF" <<CONF
ClusterName=implicitreg
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCK
StateSaveLocation=$SLURM_BASE/state
SlurmdSpoolDir=$SLURM_BASE/spool
SlurmctldPidFile=$SLURM_BASE/run/slurmctld.pid
SlurmdPidFile=$SLURM_BASE/run/slurmd.pid
SlurmctldLogFile=$SLURM_BASE/log/slurmctld.log
SlurmdLogFile=$SLURM_BASE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$SLURM_BASE/log/jobcomp.txt
MinJobAge=3600
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SlurmdTimeout=30
SlurmdParameters=config_overrides
InactiveLimit=0
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$NODE_CPUS State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
}

do_start() {
  for cmd in munged slurmctld slurmd sbatch; do
    command -v "$cmd" >/dev/null || { log "$cmd is not installed: run '$0 install' first"; exit 1; }
  done
  mkdir -p "$SLURM_BASE"/{etc,state,spool,log,run} "$MUNGE_DIR"
  chmod 0755 "$MUNGE_DIR"
  if [[ ! -s $MUNGE_DIR/munge.key ]]; then
    dd if=/dev/urandom of="$MUNGE_DIR/munge.key" bs=1024 count=1 status=none
  fi
  chmod 0600 "$MUNGE_DIR/munge.key" # munged refuses keys others can read
  munged --force \
    --key-file="$MUNGE_DIR/munge.key" --socket="$MUNGE_SOCK" \
    --pid-file="$MUNGE_DIR/munged.pid" --log-file="$MUNGE_DIR/munged.log" \
    --seed-file="$MUNGE_DIR/munged.seed" --origin=127.0.0.1
  wait_for 10 "munge socket" test -S "$MUNGE_SOCK"
  munge -n -S "$MUNGE_SOCK" | unmunge -S "$MUNGE_SOCK" >/dev/null

  write_conf
  # -c: start from empty state (job ids restart at 1); -i: ignore saved state errors.
  slurmctld -c -i
  slurmd
  wait_for 30 "the node to be idle" bash -c '[[ $(sinfo -h -N -o %t | head -1) == idle ]]'
  log "cluster up: $(sinfo -h -o '%P %a %D %t'), SLURM_CONF=$SLURM_CONF"
}

# kill_pidfile <pidfile> <name>: TERM, wait up to 15 s, then KILL.
kill_pidfile() {
  local f=$1 pid
  [[ -s $f ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    local end=$((SECONDS + 15))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < end)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$2 ($pid) still alive: SIGKILL"
      kill -9 "$pid"
    fi
  fi
  rm -f "$f"
}

alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

do_stop() {
  if [[ -f $SLURM_CONF ]]; then
    scontrol shutdown 2>/dev/null || true
    local end=$((SECONDS + 15))
    while alive "$SLURM_BASE/run/slurmctld.pid" || alive "$SLURM_BASE/run/slurmd.pid"; do
      ((SECONDS >= end)) && break
      sleep 0.2
    done
  fi
  kill_pidfile "$SLURM_BASE/run/slurmd.pid" slurmd
  kill_pidfile "$SLURM_BASE/run/slurmctld.pid" slurmctld
  kill_pidfile "$MUNGE_DIR/munged.pid" munged
  log "cluster stopped"
}

case ${1:-} in
  install) do_install ;;
  start) do_start ;;
  stop) do_stop ;;
  status) sinfo && squeue -t all ;;
  env) echo "export SLURM_CONF=$SLURM_CONF" ;;
  *)
    echo "usage: $0 install|start|env|status|stop" >&2
    exit 2
    ;;
esac
