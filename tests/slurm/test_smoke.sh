#!/bin/bash
# slurm_smoke: the test cluster runs what hfscan's jobs need: a plain batch job, a failing job,
# a job array, MPI through both srun --mpi=pmix and mpirun (2 and 4 ranks), and the
# signal -> checkpoint -> requeue -> resume cycle.
# The $VARIABLES in single-quoted --wrap commands are meant for the job's shell.
# shellcheck disable=SC2016
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

MPICC=${HFS_MPICC:-mpicc}
command -v "$MPICC" >/dev/null 2>&1 || slurm_skip "no MPI C compiler ($MPICC)"

slurm_cluster_up
work=""
slurm_tmpdir work
cd "$work" || slurm_fail "cannot cd to $work"

cat >hello.c <<'EOF'
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    int rank = 0, size = 0;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    printf("hello rank %d of %d\n", rank, size);
    MPI_Finalize();
    return 0;
}
EOF
"$MPICC" -o hello hello.c || slurm_fail "$MPICC hello.c failed"

# expect_ranks LOG TAG N: LOG holds "TAG hello rank r of N" for every r in 0..N-1.
expect_ranks() {
    local r
    for ((r = 0; r < $3; r++)); do
        grep -qx "$2 hello rank $r of $3" "$1" || slurm_fail "$1: no '$2 hello rank $r of $3'"
    done
}

# (a) one task; (a2) a failing job; (b) a 3-task array; (c) MPI with 2 and 4 ranks. All queued
# at once: the node declares 4 CPUs, so they run as slots free up.
J1=$(slurm_submit -D "$work" -o one.out --wrap='echo "job=$SLURM_JOB_ID node=$SLURMD_NODENAME"') ||
    slurm_fail "sbatch (a)"
JF=$(slurm_submit -D "$work" -o fail.out --wrap='exit 7') || slurm_fail "sbatch (a2)"
JA=$(slurm_submit -D "$work" -o 'array_%a.out' --array=0-2 \
    --wrap='echo "$SLURM_ARRAY_TASK_ID" >"task_$SLURM_ARRAY_TASK_ID.txt"') || slurm_fail "sbatch (b)"
cat >mpi.sh <<'EOF'
#!/bin/bash
srun --mpi=pmix ./hello | sed 's/^/srun /'
mpirun ./hello | sed 's/^/mpirun /'
EOF
JM2=$(slurm_submit -D "$work" -o mpi2.out -n 2 mpi.sh) || slurm_fail "sbatch (c) -n 2"
JM4=$(slurm_submit -D "$work" -o mpi4.out -n 4 mpi.sh) || slurm_fail "sbatch (c) -n 4"

for j in "$J1" "$JF" "$JA" "$JM2" "$JM4"; do
    slurm_wait_job "$j" 60 || slurm_fail "job $j did not finish in 60 s"
done

[ "$(slurm_job_state "$J1")" = COMPLETED ] || slurm_fail "(a) job $J1 is $(slurm_job_state "$J1")"
grep -qx "job=$J1 node=$(hostname -s)" one.out || slurm_fail "(a) one.out: $(cat one.out)"

[ "$(slurm_job_state "$JF")" = FAILED ] || slurm_fail "(a2) job $JF is $(slurm_job_state "$JF")"
[ "$(slurm_job_exitcode "$JF")" = 7:0 ] || slurm_fail "(a2) job $JF exit code $(slurm_job_exitcode "$JF")"

states=$(slurm_array_states "$JA")
[ "$states" = $'0 COMPLETED\n1 COMPLETED\n2 COMPLETED' ] || slurm_fail "(b) array $JA: $states"
for t in 0 1 2; do
    [ "$(cat "task_$t.txt" 2>/dev/null)" = "$t" ] || slurm_fail "(b) task_$t.txt: $(cat "task_$t.txt" 2>&1)"
done

for n in 2 4; do
    j=JM$n
    [ "$(slurm_job_state "${!j}")" = COMPLETED ] ||
        slurm_fail "(c) MPI job ${!j} (-n $n) is $(slurm_job_state "${!j}"): $(cat "mpi$n.out")"
    expect_ranks "mpi$n.out" srun "$n"
    expect_ranks "mpi$n.out" mpirun "$n"
done
slurm_log "(a) (b) (c) passed"

# (d) signal -> checkpoint -> requeue -> resume. The worker counts to N in steps of 0.1 s and
# checkpoints each step; on USR1 the batch shell tells the worker to stop, and requeues the job
# when the checkpoint says the work is not done. The time limit is far away: the test sends the
# signal itself with scancel --batch, which is how Slurm delivers --signal=B:USR1@... .
N=40
cat >requeue.sh <<EOF
#!/bin/bash
#SBATCH -t 5
#SBATCH --signal=B:USR1@30
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH -o requeue.out
N=$N
EOF
cat >>requeue.sh <<'EOF'
echo "start restart=${SLURM_RESTART_COUNT:-0} ckpt=$(cat ckpt 2>/dev/null || echo 0)"
worker() {
    trap 'echo "worker: USR1 at $i"; exit 3' USR1
    i=$(cat ckpt 2>/dev/null || echo 0)
    while [ "$i" -lt "$N" ]; do
        sleep 0.1
        i=$((i + 1))
        echo "$i" >ckpt.tmp && mv ckpt.tmp ckpt
    done
}
worker &
W=$!
# The work runs in the background so this trap runs as soon as the signal arrives: bash defers
# traps while a foreground command runs.
trap 'echo "batch: USR1"; kill -USR1 $W' USR1
while kill -0 "$W" 2>/dev/null; do wait "$W"; done
c=$(cat ckpt 2>/dev/null || echo 0)
if [ "$c" -lt "$N" ]; then
    echo "requeue at ckpt=$c"
    scontrol requeue "$SLURM_JOB_ID"
else
    echo "done at ckpt=$c"
fi
exit 0
EOF
JR=$(slurm_submit -D "$work" requeue.sh) || slurm_fail "sbatch (d)"
ckpt_at_least() { [ "$(cat ckpt 2>/dev/null || echo 0)" -ge "$1" ]; }
slurm_wait_until 60 ckpt_at_least 5 || slurm_fail "(d) job $JR made no progress: $(cat requeue.out 2>&1)"
scancel --batch --signal=USR1 "$JR" || slurm_fail "(d) scancel --batch --signal=USR1 $JR"
slurm_wait_job "$JR" 90 || slurm_fail "(d) job $JR did not finish in 90 s"
cat requeue.out >&2

[ "$(slurm_job_state "$JR")" = COMPLETED ] || slurm_fail "(d) job $JR is $(slurm_job_state "$JR")"
restarts=$(slurm_restarts "$JR")
[ "${restarts:-0}" -ge 1 ] || slurm_fail "(d) job $JR Restarts=$restarts, expected >= 1"
[ "$(cat ckpt)" = "$N" ] || slurm_fail "(d) checkpoint is $(cat ckpt), expected $N"
grep -q '^worker: USR1 at ' requeue.out || slurm_fail "(d) the worker never saw USR1"
grep -q '^requeue at ckpt=' requeue.out || slurm_fail "(d) the job never requeued itself"
grep -q '^start restart=1 ' requeue.out || slurm_fail "(d) no second run in requeue.out"
grep -qx "done at ckpt=$N" requeue.out || slurm_fail "(d) the last run did not finish"
slurm_log "(d) passed: Restarts=$restarts"
echo "PASS: slurm_smoke"
