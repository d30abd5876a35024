#!/usr/bin/env bash
# Submit a contrastlab sweep to Slurm: the array job (one task per shard) and the merge, which
# starts only when every task has succeeded (--dependency=afterok). Prints both job ids:
#   sweep job: <id>
#   merge job: <id>
#
#   examples/slurm/submit.sh SPEC.json OUT_DIR [TASKS]          (TASKS: the array size, default 4)
#
# Run it from the folder the jobs should work in (the project where contrastlab is installed, on
# the shared filesystem), or set WORKDIR. Job logs go to LOG_DIR (default OUT_DIR.logs).
# SBATCH_ARGS: more sbatch options for both jobs (e.g. "--partition=short --account=myproj").
# CONTRASTLAB and NODE_MODULE are passed on to the jobs (see sweep.sbatch).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ $# -lt 2 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 2
fi
SPEC=$1 OUT=$2 TASKS=${3:-4}
case $TASKS in ''|*[!0-9]*|0) echo "submit.sh: TASKS must be a positive integer, got '$TASKS'" >&2; exit 2 ;; esac
WORKDIR=${WORKDIR:-$PWD}
LOG_DIR=${LOG_DIR:-$OUT.logs}
case $LOG_DIR in /*) ;; *) LOG_DIR=$WORKDIR/$LOG_DIR ;; esac
mkdir -p "$LOG_DIR"
read -r -a extra <<<"${SBATCH_ARGS:-}"
# CONTRASTLAB and NODE_MODULE, when set, reach the jobs through --export=ALL.

# --parsable prints "id" or "id;cluster".
sweep=$(sbatch --parsable --export=ALL --chdir="$WORKDIR" --array="0-$((TASKS - 1))" \
  --output="$LOG_DIR/sweep_%A_%a.out" "${extra[@]}" "$here/sweep.sbatch" "$SPEC" "$OUT")
sweep=${sweep%%;*}
merge=$(sbatch --parsable --export=ALL --chdir="$WORKDIR" --dependency="afterok:$sweep" \
  --kill-on-invalid-dep=no --output="$LOG_DIR/merge_%j.out" "${extra[@]}" "$here/merge.sbatch" "$OUT")
merge=${merge%%;*}
echo "sweep job: $sweep"
echo "merge job: $merge"
