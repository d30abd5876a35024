#!/usr/bin/env bash
# Start a one-node Slurm cluster on this machine, as root, for CI (ci/slurm/test.sh):
#   installs Debian's slurmctld slurmd slurm-client munge when missing, writes
#   $SLURM_CI_DIR/slurm.conf from slurm.conf.in (this host, its CPUs and memory), starts munged
#   (unless one already answers), slurmctld and slurmd, and waits until `sinfo` shows the node idle.
# Use the cluster with   export SLURM_CONF=$SLURM_CI_DIR/slurm.conf   (start.sh prints it);
# stop it with ci/slurm/stop.sh. SLURM_CI_DIR defaults to /tmp/contrastlab-slurm.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${SLURM_CI_DIR:-/tmp/contrastlab-slurm}
timeout_s=${SLURM_START_TIMEOUT:-60}

[ "$(id -u)" -eq 0 ] || { echo "start.sh: must run as root (the daemons run as root here)" >&2; exit 1; }

need=()
for p in slurmctld slurmd slurm-client munge; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "start.sh: apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# A cluster of ours still running from an earlier start: stop it first.
[ -f "$dir/slurmctld.pid" ] || [ -f "$dir/slurmd.pid" ] && bash "$here/stop.sh" || true
rm -rf "$dir/state" "$dir/spool" "$dir/log"
mkdir -p "$dir/state" "$dir/spool" "$dir/log"

host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(free -m | awk '/^Mem:/{print $2}') - 1024 ))
[ "$mem" -ge 512 ] || mem=512
sed -e "s|@HOST@|$host|g" -e "s|@CPUS@|$cpus|g" -e "s|@MEMORY@|$mem|g" -e "s|@DIR@|$dir|g" \
    -e "s|@CTLD_PORT@|${SLURM_CI_CTLD_PORT:-6817}|g" -e "s|@D_PORT@|${SLURM_CI_D_PORT:-6818}|g" \
    "$here/slurm.conf.in" > "$dir/slurm.conf"
export SLURM_CONF="$dir/slurm.conf"

# munge: the key, the socket folder, the daemon (as root: --force).
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
  mkdir -p /etc/munge /run/munge /var/log/munge /var/lib/munge
  [ -s /etc/munge/munge.key ] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
  chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge
  chmod 400 /etc/munge/munge.key
  munged --force --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log"
  for _ in $(seq 50); do munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
fi
munge -n </dev/null | unmunge >/dev/null || { echo "start.sh: munge does not answer" >&2; exit 1; }

slurmctld -c -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"

deadline=$(( $(date +%s) + timeout_s ))
while :; do
  state=$(sinfo -h -o '%t' 2>/dev/null | head -1 || true)
  [ "$state" = idle ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "start.sh: the node is not idle after ${timeout_s} s (sinfo: '${state}')" >&2
    tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
    exit 1
  fi
  sleep 0.5
done
echo "start.sh: one-node cluster up ($host, $cpus CPUs, ${mem} MB); export SLURM_CONF=$SLURM_CONF"
