#!/usr/bin/env bash
# The Slurm example on a real one-node cluster: start it (start.sh), submit the small study with
# examples/slurm/submit.sh as an array of 3 tasks plus the merge, wait for the merge, run the same
# study on this machine with `contrastlab run`, and compare the results byte for byte (every file
# `merge` promises to reproduce: trace.csv, trace.jsonl, summary.csv, final.json, summary.md,
# spec.json and the figures; run.json holds wall times and is left out). Always stops the cluster.
# Ends with one line, `slurm: ok` (exit 0) or `slurm: FAILED (<reason>)` (exit 1).
#
#   bash ci/slurm/test.sh          (as root; KEEP=1 keeps the temporary folder)
# SLURM_TEST_SPEC, SLURM_TEST_TASKS (3), SLURM_TEST_TIMEOUT (seconds for the jobs, 300), CONTRASTLAB.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
spec=${SLURM_TEST_SPEC:-examples/slurm/small-study.json}
tasks=${SLURM_TEST_TASKS:-3}
timeout_s=${SLURM_TEST_TIMEOUT:-300}
# The jobs use the repository's bin (examples/slurm/sweep.sbatch) unless CONTRASTLAB is set; so does the local run.
read -r -a cli <<<"${CONTRASTLAB:-node bin/contrastlab.mjs}"
work=$(mktemp -d /tmp/contrastlab-slurm-test.XXXXXX)
export SLURM_CI_DIR=$work/cluster
t0=$(date +%s)

# The verdict line is printed last, after the daemons are stopped (a cluster left running fails).
verdict="FAILED (interrupted)"
finish() {
  if ! bash "$repo/ci/slurm/stop.sh" >"$work/stop.log" 2>&1; then
    cat "$work/stop.log"
    [ "$verdict" != ok ] || verdict="FAILED (stop.sh left daemons running)"
  fi
  if [ -n "${KEEP:-}" ]; then echo "test.sh: kept $work"; else rm -rf "$work"; fi
  echo "slurm: $verdict"
  [ "$verdict" = ok ]
}
trap 'finish' EXIT
trap 'exit 1' INT TERM
fail() {
  verdict="FAILED ($1)"
  exit 1
}
show_logs() {
  local f
  for f in "$work"/results.logs/*.out; do
    [ -f "$f" ] || continue
    echo "--- $(basename "$f")"; tail -n 15 "$f"
  done
  echo "--- slurmctld.log"; tail -n 10 "$SLURM_CI_DIR/log/slurmctld.log" 2>/dev/null
}

[ -f "$spec" ] || fail "no study spec at $spec"
[ -f dist/src/cli/main.js ] || fail "dist/ is missing: run npm ci or npm run build first"
bash ci/slurm/start.sh || fail "the cluster did not start"
export SLURM_CONF=$SLURM_CI_DIR/slurm.conf

# Submit exactly as a user would, from the repository (the jobs' working directory).
submitted=$(LOG_DIR="$work/results.logs" examples/slurm/submit.sh "$spec" "$work/results" "$tasks") \
  || fail "submit.sh failed: $submitted"
echo "$submitted"
sweep=$(sed -n 's/^sweep job: *//p' <<<"$submitted")
merge=$(sed -n 's/^merge job: *//p' <<<"$submitted")
[ -n "$sweep" ] && [ -n "$merge" ] || fail "submit.sh did not print both job ids"

# Wait for the merge job to finish (scontrol shows finished jobs for MinJobAge = 600 s).
job_states() { scontrol show job -o "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
deadline=$(( $(date +%s) + timeout_s ))
while :; do
  line=$(scontrol show job -o "$merge" 2>/dev/null)
  state=$(sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' <<<"$line")
  case $state in
    COMPLETED) break ;;
    PENDING|CONFIGURING|RUNNING|COMPLETING|SUSPENDED|REQUEUED) ;;
    *) show_logs; fail "merge job $merge ended $state" ;;
  esac
  if grep -q 'Reason=DependencyNeverSatisfied' <<<"$line"; then
    show_logs; fail "a sweep task failed ($(job_states "$sweep" | sort | uniq -c | xargs)); the merge cannot start"
  fi
  [ "$(date +%s)" -lt "$deadline" ] || { show_logs; fail "the jobs did not finish within $timeout_s s (merge: $state)"; }
  sleep 1
done
sweep_states=$(job_states "$sweep")
[ "$(grep -c '^COMPLETED$' <<<"$sweep_states")" -eq "$tasks" ] \
  || { show_logs; fail "expected $tasks completed sweep tasks, got: $(xargs <<<"$sweep_states")"; }
t_cluster=$(( $(date +%s) - t0 ))

# The same study on this machine, in one process.
"${cli[@]}" run "$spec" --out "$work/local" --quiet >"$work/local.log" 2>&1 \
  || { tail -n 20 "$work/local.log"; fail "contrastlab run (local) failed"; }

files=(trace.csv trace.jsonl summary.csv final.json summary.md spec.json)
for f in "$work"/local/*.svg "$work"/local/*.png; do [ -f "$f" ] && files+=("$(basename "$f")"); done
[ ${#files[@]} -gt 6 ] || fail "the local run wrote no figures"
for f in "$work"/results/*.svg "$work"/results/*.png; do
  [ -f "$f" ] && [ ! -f "$work/local/$(basename "$f")" ] && fail "the merge wrote a figure the local run did not: $(basename "$f")"
done
differ=()
for f in "${files[@]}"; do
  if [ ! -f "$work/results/$f" ]; then differ+=("$f (missing)")
  elif ! cmp -s "$work/results/$f" "$work/local/$f"; then differ+=("$f"); fi
done
echo "compared byte for byte (Slurm merge vs local run): ${files[*]}"
[ ${#differ[@]} -eq 0 ] || fail "differ from the local run: ${differ[*]}"
echo "test.sh: cluster + $tasks tasks + merge ${t_cluster} s, total $(( $(date +%s) - t0 )) s"
verdict=ok
