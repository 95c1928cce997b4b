#!/usr/bin/env bash
# A one-node SLURM on this machine, for tests/test_slurm.py (and by hand):
#   tests/slurm_node.sh start DIR   install slurm-wlm and munge from Debian if missing, then start
#                                   munged, slurmctld and slurmd, their state and logs in DIR
#   tests/slurm_node.sh stop DIR    cancel the node's jobs, stop the daemons that `start DIR`
#                                   started (by the pids they wrote in DIR), remove its slurm.conf
# The config is /etc/slurm/slurm.conf, where every SLURM command looks: the slurm executor plugin's
# job step drops SLURM_CONF from the environment of the srun it runs inside each job. Everything
# else lives in DIR, munge's key and socket included, so a munged already running is not used.
# Exit status 77: SLURM cannot be had here (not root, no apt-get, the install failed, a slurm.conf
# that is not ours); the reason is the last line on stderr.
set -euo pipefail

WAIT=${SLURM_NODE_WAIT:-60} # seconds any one step may take before we give up
PORT=${SLURM_NODE_PORT:-16817}
CONF=/etc/slurm/slurm.conf
MARK="# written by langadapt tests/slurm_node.sh for"

die() {
    echo "slurm_node: $*" >&2
    exit 1
}
unavailable() {
    echo "slurm_node: unavailable: $*" >&2
    exit 77
}

wait_for() { # wait_for WHAT COMMAND...: poll COMMAND until it succeeds, at most $WAIT s
    local what=$1 end=$((SECONDS + WAIT))
    shift
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= end)); then
            echo "slurm_node: gave up after ${WAIT}s waiting for $what" >&2
            return 1
        fi
        sleep 0.5
    done
}

install_packages() {
    local cmd missing=()
    for cmd in munged slurmctld slurmd sbatch; do command -v "$cmd" >/dev/null || missing+=("$cmd"); done
    ((${#missing[@]})) || return 0
    command -v apt-get >/dev/null || unavailable "no apt-get to install slurm-wlm and munge (missing: ${missing[*]})"
    # the packages' postinst scripts would start the system's daemons: a policy-rc.d forbids that
    # (one that is already there does so already, and is not ours to remove)
    local policy=/usr/sbin/policy-rc.d ours=0 rc=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && ours=1
    fi
    {
        compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || timeout 600 apt-get update -q
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends slurm-wlm munge
    } >"$DIR/apt.log" 2>&1 || rc=$?
    if ((ours)); then rm -f "$policy"; fi
    ((rc == 0)) || unavailable "apt-get install slurm-wlm munge failed (exit $rc): $(tail -n 1 "$DIR/apt.log")"
}

write_config() {
    local host cpus mem owner
    if [[ -e $CONF ]]; then
        owner=$(sed -n "s|^$MARK ||p" "$CONF")
        [[ -n $owner ]] || unavailable "$CONF exists and is not ours: not replacing a real SLURM's config"
        # ours, left by a run that did not stop: fine unless its controller still runs
        if [[ -s $owner/slurmctld.pid ]] && [[ $(cat "/proc/$(cat "$owner/slurmctld.pid")/comm" 2>/dev/null) == slurmctld ]]; then
            die "the node of $owner is still running; stop it first: $0 stop $owner"
        fi
    fi
    host=$(hostname -s)
    cpus=$(nproc)
    # a little under the machine's memory: slurmd drains a node that has less than it claims
    mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/munge" "$(dirname "$CONF")"
    cat >"$CONF" <<EOF
$MARK $DIR
ClusterName=langadapt
SlurmctldHost=$host
SlurmUser=root
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket.2
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
# no cgroups in a container: track processes through /proc, bind no tasks
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
# no accounting database: squeue answers for finished jobs too, for an hour
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=3600
ReturnToService=2
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
# profiles/slurm sends the model rules to partition gpu; this node has no GPU, so only jobs that
# ask for none can run there
PartitionName=cpu Nodes=$host Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$host MaxTime=INFINITE State=UP
EOF
}

start() {
    ((EUID == 0)) || unavailable "not root: the node's daemons run as root and its config is /etc/slurm/slurm.conf"
    install_packages
    write_config
    # from here on, a failure stops what was started
    trap 'rc=$?; if ((rc)); then stop >&2; fi' EXIT
    # munged with a fresh key, its own socket, pid file, log and seed
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
    chmod 700 "$DIR/munge" && chmod 400 "$DIR/munge/munge.key"
    munged --force --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket.2" \
        --pid-file="$DIR/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/seed"
    wait_for "munged" munge -n -S "$DIR/munge/munge.socket.2"
    slurmctld
    wait_for "slurmctld" scontrol ping
    slurmd
    wait_for "the node to be idle" bash -c '[[ $(sinfo -h -N -p cpu -o %t) == idle ]]'
    # one job through sbatch and srun, end to end
    local id
    id=$(sbatch --parsable -o "$DIR/log/test-%j.out" --wrap "srun hostname")
    wait_for "test job $id" bash -c "[[ \$(squeue -h -t all -j $id -o %T) == COMPLETED ]]"
    [[ $(cat "$DIR/log/test-$id.out") == "$(hostname)" ]] || die "test job $id: $(cat "$DIR/log/test-$id.out")"
    trap - EXIT
    echo "one-node SLURM up: $(sinfo -h -N -p cpu -o '%N, %c CPUs, %m MB')"
}

alive() { # alive NAME: the pid in DIR/NAME.pid, if that process is still NAME (pids get reused)
    local pid
    pid=$(cat "$DIR/$1.pid" 2>/dev/null) || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$1" ]] && echo "$pid"
}

stop() {
    local name pid stopped=()
    if alive slurmctld >/dev/null; then
        # jobs still running (a run that was cut short): their processes end with them
        timeout 10 bash -c 'squeue -h -o %i | xargs -r scancel' || true
        wait_for "the node's jobs to end" bash -c '[[ -z $(squeue -h -t RUNNING,COMPLETING -o %i) ]]' || true
    fi
    # slurmd first, munged last: each daemon still has what it needs while it stops
    for name in slurmd slurmctld munged; do
        if pid=$(alive "$name"); then
            kill "$pid"
            local end=$((SECONDS + WAIT))
            while kill -0 "$pid" 2>/dev/null && ((SECONDS < end)); do sleep 0.2; done
            if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
            stopped+=("$name:$pid")
        fi
        rm -f "$DIR/$name.pid"
    done
    if [[ $(head -n 1 "$CONF" 2>/dev/null) == "$MARK $DIR" ]]; then rm -f "$CONF"; fi
    echo "slurm_node: stopped ${stopped[*]:-nothing}"
}

(($# == 2)) || die "usage: $0 start|stop DIR"
mkdir -p "$2"
DIR=$(cd "$2" && pwd)
case $1 in
start) start ;;
stop) stop ;;
*) die "usage: $0 start|stop DIR" ;;
esac
