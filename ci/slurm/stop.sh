#!/usr/bin/env bash
# Stop the cluster ci/slurm/start.sh started: cancel its jobs, `scontrol shutdown`, then the daemons
# by their process ids (slurmctld, slurmd, and munged if start.sh started it). Leaves nothing running.
set -uo pipefail
dir=${SLURM_CI_DIR:-/tmp/contrastlab-slurm}
export SLURM_CONF="$dir/slurm.conf"

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { [ -f "$1" ] && tr -dc '0-9' <"$1" || true; }
wait_gone() {  # pid, seconds
  local i; for i in $(seq $(( $2 * 10 ))); do alive "$1" || return 0; sleep 0.1; done; return 1
}

ctld=$(pid_of "$dir/slurmctld.pid"); d=$(pid_of "$dir/slurmd.pid"); mg=$(pid_of "$dir/munged.pid")
if [ -f "$SLURM_CONF" ] && alive "$ctld"; then
  # Jobs still queued or running on our cluster (a test that timed out): cancel them first.
  ids=$(squeue -h -o '%A' 2>/dev/null || true)
  if [ -n "$ids" ]; then scancel $ids 2>/dev/null; sleep 2; fi
  scontrol shutdown >/dev/null 2>&1 || true
fi
for p in "$ctld" "$d"; do
  alive "$p" || continue
  wait_gone "$p" 10 || { kill -TERM "$p" 2>/dev/null; wait_gone "$p" 5 || kill -KILL "$p" 2>/dev/null; }
done
# Job steps left behind by slurmd (slurmstepd) whose parent was our slurmd.
for p in $(pgrep -x slurmstepd 2>/dev/null || true); do
  grep -qs "$dir" "/proc/$p/environ" /proc/$p/cmdline && kill -KILL "$p" 2>/dev/null
done
if alive "$mg"; then
  kill -TERM "$mg" 2>/dev/null; wait_gone "$mg" 5 || kill -KILL "$mg" 2>/dev/null
fi
rm -f "$dir/slurmctld.pid" "$dir/slurmd.pid" "$dir/munged.pid"
left=""
for p in "$ctld" "$d" "$mg"; do alive "$p" && left="$left $p"; done
[ -z "$left" ] || { echo "stop.sh: still running:$left" >&2; exit 1; }
echo "stop.sh: stopped"
