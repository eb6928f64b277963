#!/usr/bin/env bash
# Training on a slurm cluster with srun (one task per GPU, or CPU tasks over
# gloo when the nodes have no GPU).
#
#   tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]
#
# Environment: GPUS (total tasks, 8), GPUS_PER_NODE (8; 0 for CPU-only
# nodes: no --gres request), CPUS_PER_TASK (5), SRUN_ARGS (extra srun
# options), PYTHON (default: python, or the repository's .venv/bin/python
# when `python` lacks torch).
set -euo pipefail

if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
TOOLS_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/toolbox_python.sh
. "$TOOLS_DIR/toolbox_python.sh"
if [ -z "${PYTHON:-}" ]; then
    PYTHON=$(toolbox_python "$TOOLS_DIR")
    if [ -z "$PYTHON" ]; then
        echo "$NO_TOOLBOX_PYTHON" >&2
        exit 1
    fi
fi

if [ "$GPUS_PER_NODE" -gt 0 ]; then
    TASKS_PER_NODE=$GPUS_PER_NODE
    GRES=(--gres="gpu:$GPUS_PER_NODE")
else
    TASKS_PER_NODE=${TASKS_PER_NODE:-$GPUS}
    GRES=()
fi

# shellcheck disable=SC2086  # SRUN_ARGS holds several options
PYTHONPATH="$TOOLS_DIR/..${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    ${GRES[@]+"${GRES[@]}"} \
    --ntasks="$GPUS" \
    --ntasks-per-node="$TASKS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    "$PYTHON" -u "$TOOLS_DIR/train.py" "$CONFIG" \
    --work-dir="$WORK_DIR" --launcher slurm "${@:5}"
