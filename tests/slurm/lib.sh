# shellcheck shell=bash
# Helpers for test drivers that run jobs on the private one-node cluster of cluster.sh.
# Source it from bash:
#
#   . "$(dirname "$0")/lib.sh"
#   slurm_cluster_up                     # starts the cluster (or skips with exit 77), stops it on exit
#   slurm_tmpdir work                    # $work: a scratch directory, removed on success, kept on failure
#   J=$(slurm_submit -D "$work" job.sh arg1) || slurm_fail "sbatch failed"
#   slurm_wait_job "$J" 120 || slurm_fail "job $J did not finish"
#   [ "$(slurm_job_state "$J")" = COMPLETED ] || slurm_fail "job $J: $(slurm_job_state "$J")"
#
# Every job inherits the driver's environment (sbatch exports it), and lib.sh exports SLURM_CONF
# and the Open MPI variables that allow running as root, so jobs can call scontrol, srun and mpirun.
# Set HFS_SLURM_KEEP=1 to leave the cluster running after the test (faster when iterating).
# lib.sh owns the EXIT trap: register cleanups with slurm_at_exit instead of "trap ... EXIT".
# Exit 77 means skipped (Slurm/munge not installed, or not root); ctest maps it with
# SKIP_RETURN_CODE 77.

HFS_SLURM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# Cleanup actions run in reverse order when the driver exits, whatever the reason.
_slurm_exit_cmds=()
_slurm_failed=0

# slurm_at_exit CMD...: run CMD (one string, evaluated) when the driver exits.
slurm_at_exit() { _slurm_exit_cmds+=("$*"); }

_slurm_on_exit() {
    local rc=$? i
    [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] || _slurm_failed=1
    # The scratch directory may be the working directory and is about to go.
    cd / || true
    for ((i = ${#_slurm_exit_cmds[@]} - 1; i >= 0; i--)); do
        eval "${_slurm_exit_cmds[$i]}" || true
    done
    exit "$rc"
}
trap _slurm_on_exit EXIT
# A driver killed by ctest's timeout (TERM) or ^C still stops the cluster.
trap 'exit 143' TERM
trap 'exit 130' INT

slurm_log() { echo "[$(date +%T)] $*" >&2; }
slurm_skip() { echo "SKIP: $*"; exit 77; }
slurm_fail() { echo "FAIL: $*" >&2; exit 1; }

# slurm_cluster_up: start the cluster (idempotent) and arrange for it to stop when the driver
# exits. Exits 77 when Slurm/munge are not installed or the driver is not root.
slurm_cluster_up() {
    local rc out
    out=$(bash "$HFS_SLURM_DIR/cluster.sh" start 2>&1)
    rc=$?
    case $rc in
    0) ;;
    3) echo "$out" >&2; slurm_skip "Slurm not installed" ;;
    4) echo "$out" >&2; slurm_skip "the Slurm test cluster needs root" ;;
    *) echo "$out" >&2; slurm_fail "cannot start the Slurm test cluster (cluster.sh start exited $rc)" ;;
    esac
    eval "$(bash "$HFS_SLURM_DIR/cluster.sh" env)"
    if [ "${HFS_SLURM_KEEP:-0}" != 1 ]; then
        # shellcheck disable=SC2016 # expanded when the exit handler runs
        slurm_at_exit 'bash "$HFS_SLURM_DIR/cluster.sh" stop >&2'
    fi
    # A cluster left running (HFS_SLURM_KEEP=1, or a driver killed by SIGKILL) may still hold jobs
    # of an earlier run; every test starts from an empty queue.
    bash "$HFS_SLURM_DIR/cluster.sh" cancel >&2 || slurm_fail "cannot empty the queue"
    slurm_log "$out"
}

# slurm_tmpdir VAR: make a scratch directory and store its path in VAR. It is removed when the
# driver succeeds and kept (its path printed) when it fails, so job logs can be read. It sets a
# variable instead of printing the path because a $(...) subshell could not register the cleanup.
slurm_tmpdir() {
    local d
    d=$(mktemp -d "${TMPDIR:-/tmp}/hfs-slurm-test.XXXXXX") || slurm_fail "mktemp failed"
    slurm_at_exit "if [ \$_slurm_failed = 0 ]; then rm -rf '$d'; else echo 'kept $d' >&2; fi"
    printf -v "$1" '%s' "$d"
}

# slurm_submit [SBATCH OPTIONS...] SCRIPT [SCRIPT ARGS...]: sbatch it and print the job id
# (for an array, the array's job id). Also accepts --wrap=... in place of SCRIPT.
slurm_submit() {
    local out
    out=$(sbatch --parsable "$@") || { echo "slurm_submit: sbatch $* failed" >&2; return 1; }
    echo "${out%%;*}"
}

# _slurm_terminal STATE: true for states a job (or array task) never leaves by itself.
_slurm_terminal() {
    case "$1" in
    COMPLETED | FAILED | CANCELLED* | TIMEOUT | NODE_FAIL | PREEMPTED | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE) return 0 ;;
    *) return 1 ;;
    esac
}

# slurm_wait_job JOBID TIMEOUT: wait until the job (or every task of an array) has ended.
# A requeued job waits 121 s in PENDING with Reason=BeginTime; it is released with
# "StartTime=now" once it has been seen there for 2 s (an earlier release makes the relaunch fail
# with "Job credential revoked"). State changes are logged to stderr. Returns 1 on timeout.
slurm_wait_job() {
    local job=$1 timeout=$2 end out id st key now active last=""
    local -A seen_begin=()
    end=$((SECONDS + timeout))
    while :; do
        out=$(squeue -h -j "$job" -o '%i %T %r' 2>/dev/null) || out=""
        [ "$out" = "$last" ] || { [ -z "$out" ] || slurm_log "job $job: ${out//$'\n'/; }"; last=$out; }
        active=0
        now=$(date +%s)
        while read -r id st key; do
            [ -n "$id" ] || continue
            _slurm_terminal "$st" && continue
            active=1
            if [ "$st" = PENDING ] && [ "$key" = BeginTime ]; then
                if [ -z "${seen_begin[$id]:-}" ]; then
                    seen_begin[$id]=$now
                elif [ $((now - seen_begin[$id])) -ge 2 ]; then
                    slurm_log "job $id: releasing requeued job (StartTime=now)"
                    scontrol update JobId="$id" StartTime=now >&2 || true
                    unset "seen_begin[$id]"
                fi
            else
                unset "seen_begin[$id]"
            fi
        done <<<"$out"
        [ "$active" = 1 ] || return 0
        if [ "$SECONDS" -ge "$end" ]; then
            echo "slurm_wait_job: job $job still active after $timeout s:" >&2
            squeue -j "$job" >&2
            scontrol show job "$job" >&2
            return 1
        fi
        sleep 0.2
    done
}

# slurm_wait_until TIMEOUT CMD...: poll CMD every 0.1 s until it succeeds; 1 on timeout.
slurm_wait_until() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.1
    done
}

# slurm_wait_running JOBID TIMEOUT: wait until the job is RUNNING (for signal tests).
slurm_wait_running() {
    slurm_wait_until "$2" _slurm_is_running "$1"
}
_slurm_is_running() { [ "$(squeue -h -j "$1" -o %T 2>/dev/null)" = RUNNING ]; }

# slurm_job_field JOBID FIELD: print FIELD (e.g. Restarts, ExitCode, JobState) of a job the
# controller still remembers (MinJobAge=300 s after the end). One line per array task.
slurm_job_field() {
    scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# slurm_job_state JOBID: the final state of a job that has ended (COMPLETED, FAILED, CANCELLED,
# TIMEOUT, ...), read from the jobcomp log (its last record, since a requeued job has one per run);
# falls back to the controller. Prints nothing for an unknown job.
slurm_job_state() {
    local st=""
    [ -r "${HFS_SLURM_JOBCOMP:-}" ] &&
        st=$(grep "^JobId=$1 " "$HFS_SLURM_JOBCOMP" | tail -n 1 | sed -n 's/.* JobState=\([^ ]*\).*/\1/p')
    [ -n "$st" ] || st=$(slurm_job_field "$1" JobState | head -n 1)
    echo "$st"
}

# slurm_job_exitcode JOBID: "exit:signal" of a finished job, e.g. 0:0 or 7:0.
slurm_job_exitcode() {
    local ec=""
    [ -r "${HFS_SLURM_JOBCOMP:-}" ] &&
        ec=$(grep "^JobId=$1 " "$HFS_SLURM_JOBCOMP" | tail -n 1 | sed -n 's/.* ExitCode=\([^ ]*\).*/\1/p')
    [ -n "$ec" ] || ec=$(slurm_job_field "$1" ExitCode | head -n 1)
    echo "$ec"
}

# slurm_array_states ARRAYJOBID: "TASKID STATE" per task of a job array, sorted by task id.
slurm_array_states() {
    scontrol show job -o "$1" 2>/dev/null |
        sed -n 's/.* ArrayTaskId=\([0-9]*\) .* JobState=\([^ ]*\) .*/\1 \2/p' | sort -n
}

# slurm_restarts JOBID: how often the job was requeued (Slurm's Restarts counter).
slurm_restarts() { slurm_job_field "$1" Restarts | head -n 1; }

# slurm_hfscan_setup: for the drivers that run hfscan on the cluster. Exports HFSCAN (the build's
# binary, which the jobs inherit) and sets SRC (the source tree), starts the cluster and enters a
# scratch directory $work (slurm_tmpdir).
slurm_hfscan_setup() {
    export HFSCAN=${HFS_BUILD_DIR:?}/hfscan
    SRC=$(cd "$HFS_SLURM_DIR/../.." && pwd)
    [ -x "$HFSCAN" ] || slurm_fail "no hfscan binary at $HFSCAN"
    slurm_cluster_up
    slurm_tmpdir work
    cd "$work" || exit 1
}

# slurm_toys_job FILE KEY=VALUE...: a job file of toys for a hypothesis test at mu = 2 on the
# shipped input, with the given further keys (ntoys, seed, ...).
slurm_toys_job() {
    local f=$1
    shift
    printf '%s\n' "workspace = $SRC/inputs/belle2_like.json" "task = hypotest" "mu = 2" \
        "calc = toys" "$@" >"$f"
}
