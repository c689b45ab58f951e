#!/usr/bin/env bash
# Distributed training with torchrun; MMEngine's own distributed support does the rest.
#   tools/dist_train.sh CONFIG GPUS [train.py options]
# GPUS is the number of processes per machine (one per GPU). torchrun runs as
# `$PYTHON -m torch.distributed.run` (PYTHON defaults to `python`), so it needs no script
# on PATH; PORT (or MASTER_PORT) sets the rendezvous port, 29500 by default.
# Several machines: run it on each with NNODES, NODE_RANK, MASTER_ADDR (and PORT) set, e.g.
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 tools/dist_train.sh CONFIG 8   # first machine
#   NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 tools/dist_train.sh CONFIG 8   # second machine
set -euo pipefail
CONFIG=$1
GPUS=$2
shift 2
cd "$(dirname "$0")/.."
"${PYTHON:-python}" -m torch.distributed.run --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-${MASTER_PORT:-29500}}" --nproc_per_node="$GPUS" \
    tools/train.py "$CONFIG" --launcher pytorch "$@"
