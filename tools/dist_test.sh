#!/usr/bin/env bash
# Distributed testing with torchrun; MMEngine's own distributed support does the rest.
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options]
# GPUS, PYTHON, PORT (or MASTER_PORT), NNODES, NODE_RANK, MASTER_ADDR: as in dist_train.sh.
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
shift 3
cd "$(dirname "$0")/.."
"${PYTHON:-python}" -m torch.distributed.run --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-${MASTER_PORT:-29500}}" --nproc_per_node="$GPUS" \
    tools/test.py "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
