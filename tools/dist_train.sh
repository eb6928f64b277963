#!/usr/bin/env bash
# Distributed training with torchrun: one process per GPU, or NUM_PROCS CPU
# processes over gloo when no GPU is present (tools/train.py picks the backend).
#
#   tools/dist_train.sh CONFIG NUM_PROCS [train.py args]
#
# Environment: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1),
# PORT (29500), PYTHON (the interpreter; default: torchrun if on PATH, else
# python -m torch.distributed.run, with the repository's .venv/bin/python
# when `python` lacks torch).
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG NUM_PROCS [train.py args]" >&2
    exit 2
fi
CONFIG=$1
NUM_PROCS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
TOOLS_DIR=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=tools/toolbox_python.sh
. "$TOOLS_DIR/toolbox_python.sh"
if [ -n "${PYTHON:-}" ]; then
    LAUNCH=("$PYTHON" -m torch.distributed.run)
elif command -v torchrun > /dev/null 2>&1; then
    LAUNCH=(torchrun)
else
    PYTHON=$(toolbox_python "$TOOLS_DIR")
    if [ -z "$PYTHON" ]; then
        echo "$NO_TOOLBOX_PYTHON" >&2
        exit 1
    fi
    LAUNCH=("$PYTHON" -m torch.distributed.run)
fi

PYTHONPATH="$TOOLS_DIR/..${PYTHONPATH:+:$PYTHONPATH}" \
"${LAUNCH[@]}" \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$NUM_PROCS" \
    "$TOOLS_DIR/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
