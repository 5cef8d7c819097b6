#!/usr/bin/env bash
# Scale-out under a real scheduler: start a one-node Slurm cluster on localhost (munged,
# slurmctld and slurmd with 2 CPUs; configuration written here), run a sweep as a job array of
# shards, merge, and check against an unsharded run of the same sweep. Checked on the way:
#   - a task cancelled mid-run (scancel) and resubmitted resumes from its cached points;
#   - a merge with a shard missing fails and names every missing point;
#   - the merged tables are byte-identical to the unsharded run's;
#   - a second merge is a no-op (the manifest is not rewritten).
# The cluster is stopped on exit, whatever happened. Needs root (Debian's slurm-wlm and munge are
# installed when missing) and a built `attnum` binary (ATTNUM, default target/debug/attnum).
#
# The tasks run the job script a cluster user submits, scripts/sweep.sbatch (README).
# The sweep is the committed Kepler convergence sweep with the eccentricity varied over 16 values,
# in a scratch workspace (`attnum --root`), so the check neither reads nor writes results/.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
attnum=$(realpath "${ATTNUM:-target/debug/attnum}")
shards=4

say() { printf 'slurm-check: %s\n' "$*"; }
fail() { say "FAILED: $*" >&2; exit 1; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge (Debian)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurm-wlm munge >/dev/null
fi
[ -x "$attnum" ] || fail "no attnum binary at $attnum (cargo build --bin attnum)"

scratch=$(mktemp -d /tmp/attnum-slurm.XXXXXX)
cluster=$scratch/cluster
mkdir -p "$cluster/state" "$cluster/spool" "$scratch/logs"
export SLURM_CONF=$cluster/slurm.conf

stop_cluster() {
    for daemon in slurmd slurmctld; do
        [ -f "$cluster/$daemon.pid" ] && kill "$(cat "$cluster/$daemon.pid")" 2>/dev/null || true
    done
    [ -f "$cluster/munged.pid" ] && kill "$(cat "$cluster/munged.pid")" 2>/dev/null || true
    sleep 1
    rm -rf "$scratch"
}
trap stop_cluster EXIT

# One node, localhost, 2 CPUs; no cgroups, accounting or MPI, so it runs in a container too.
cat > "$SLURM_CONF" <<EOF
ClusterName=attnum
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SlurmctldPidFile=$cluster/slurmctld.pid
SlurmdPidFile=$cluster/slurmd.pid
SlurmdSpoolDir=$cluster/spool
StateSaveLocation=$cluster/state
SlurmctldLogFile=$cluster/slurmctld.log
SlurmdLogFile=$cluster/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF

say "starting munged, slurmctld and slurmd"
mkdir -p /run/munge && chown munge:munge /run/munge
[ -s /etc/munge/munge.key ] || { mungekey --create --force; chown munge:munge /etc/munge/munge.key; }
munged --force --pid-file="$cluster/munged.pid" --socket=/run/munge/munge.socket.2 2>/dev/null
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N localhost
for _ in $(seq 60); do
    sinfo -h -o '%t' 2>/dev/null | grep -q idle && break
    sleep 1
done
sinfo -h -o '%t' | grep -q idle || { cat "$cluster"/*.log >&2; fail "the node never became idle"; }
sinfo

# Two scratch workspaces with the same 16-point sweep: one run unsharded, one under Slurm.
sweep_text() {
    cat "$repo/data/sweeps/rk_convergence.yaml"
    printf 'vary:\n  grid:\n    eccentricity: [%s]\n' \
        "0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8"
}
for ws in whole sharded; do
    mkdir -p "$scratch/$ws/data/sweeps"
    sweep_text > "$scratch/$ws/data/sweeps/rk_convergence.yaml"
done
say "unsharded reference run"
"$attnum" --root "$scratch/whole" sweep run rk_convergence --jobs 2

ws=$scratch/sharded
points=$ws/results/rk_convergence/.points
cached() { find "$points" -mindepth 1 -maxdepth 1 -type d ! -name '*.partial-*' 2>/dev/null | wc -l; }
submit() { # submit ARRAY [--wait]: the README's job script, one shard per array task
    ATTNUM=$attnum sbatch --parsable --array="$1" "${@:2}" \
        --output="$scratch/logs/task-%a-%j.out" \
        "$repo/scripts/sweep.sbatch" rk_convergence "$shards" --root "$ws"
}

say "task 0 alone, cancelled once it has cached a point"
job=$(submit 0)
for _ in $(seq 600); do
    [ "$(cached)" -ge 1 ] && break
    sleep 0.1
done
scancel "$job"
for _ in $(seq 100); do
    squeue -h -j "$job" 2>/dev/null | grep -q . || break
    sleep 0.2
done
done_before=$(cached)
say "cancelled with $done_before of 4 points of shard 1 cached"
[ "$done_before" -ge 1 ] && [ "$done_before" -lt 4 ] \
    || fail "the cancel did not land mid-run ($done_before points cached)"

say "tasks 1-3; then a merge with shard 1 incomplete must fail and name the missing points"
submit 1-3 --wait >/dev/null
if "$attnum" --root "$ws" sweep merge rk_convergence 2> "$scratch/merge.err"; then
    fail "merge succeeded with a shard missing"
fi
cat "$scratch/merge.err"
missing=$((4 - done_before))
grep -q "$missing point(s) not computed yet" "$scratch/merge.err" \
    || fail "the merge error does not count the $missing missing points"
# Shard 1 owns points 1, 5, 9, 13 (1-based; point i belongs to shard (i-1) mod 4 + 1).
named=$(grep -cE "point (1|5|9|13) \(eccentricity" "$scratch/merge.err" || true)
[ "$named" -eq "$missing" ] || fail "the merge error names $named of the $missing missing points"

say "task 0 resubmitted: it resumes from its cached points"
submit 0 --wait >/dev/null
log=$(ls -t "$scratch"/logs/task-0-*.out | head -1)
cat "$log"
grep -q "$missing point(s) computed, $done_before reused" "$log" \
    || fail "the resubmitted task did not reuse its $done_before cached points"

say "merge, and compare with the unsharded run byte for byte"
"$attnum" --root "$ws" sweep merge rk_convergence
for file in table.csv table.parquet orders.csv orders.parquet; do
    cmp "$scratch/whole/results/rk_convergence/$file" "$ws/results/rk_convergence/$file" \
        || fail "$file differs from the unsharded run"
done
manifest=$(sha256sum < "$ws/results/rk_convergence/manifest.json")
"$attnum" --root "$ws" sweep merge rk_convergence 2> "$scratch/merge2.err"
cat "$scratch/merge2.err"
grep -q "nothing to merge" "$scratch/merge2.err" || fail "the second merge did not say it is a no-op"
[ "$manifest" = "$(sha256sum < "$ws/results/rk_convergence/manifest.json")" ] \
    || fail "the second merge rewrote the manifest"

say "passed: 16 points in $shards shards under Slurm, one cancelled and resumed, merged byte-identical"
