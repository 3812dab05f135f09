#!/usr/bin/env bash
# Stop the cluster that scripts/slurm-up.sh started in DIR and remove DIR.
# Only the daemons whose pid files are in DIR are stopped (TERM, then KILL).
#   scripts/slurm-down.sh DIR          # MVD_SLURM_KEEP=1 keeps DIR (its logs)
set -uo pipefail
DIR=${1:?usage: slurm-down.sh DIR}
[ -d "$DIR" ] || exit 0

stop() {  # stop PIDFILE: TERM, wait up to 10 s, then KILL
  local file=$DIR/run/$1 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file" 2>/dev/null) || return 0
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null
}

# jobs still running die with slurmd (proctrack kills them); daemons in reverse start order
if [ -f "$DIR/slurm.conf" ] && [ -f "$DIR/run/slurmctld.pid" ]; then
  export SLURM_CONF=$DIR/slurm.conf
  timeout 10 scancel --quiet --full --user="$(id -un)" 2>/dev/null || true
  for _ in $(seq 50); do  # until no job is left on the node (their steps end with them)
    [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.2
  done
fi
for daemon in slurmd slurmctld slurmdbd mariadbd munged; do stop "$daemon.pid"; done
if [ "${MVD_SLURM_KEEP:-0}" = 1 ]; then
  echo "slurm-down: stopped; kept $DIR"
else
  rm -rf "$DIR"
fi
