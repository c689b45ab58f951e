#!/usr/bin/env bash
# torchrun for our tools, shared by dist_train.sh and dist_test.sh:
#   tools/dist_run.sh SCRIPT GPUS [SCRIPT arguments]
# GPUS is the number of processes per machine (one per GPU). torchrun runs as
# `$PYTHON -m torch.distributed.run` (PYTHON defaults to `python`), so it needs no script
# on PATH; PORT (or MASTER_PORT) sets the rendezvous port, 29500 by default. Several
# machines: NNODES, NODE_RANK and MASTER_ADDR (and PORT) on each.
set -euo pipefail
SCRIPT=$1
GPUS=$2
shift 2
cd "$(dirname "$0")/.."
"${PYTHON:-python}" -m torch.distributed.run --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-${MASTER_PORT:-29500}}" --nproc_per_node="$GPUS" \
    "$SCRIPT" "$@"
