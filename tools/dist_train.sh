#!/usr/bin/env bash
# Distributed training with torchrun; MMEngine's own distributed support does the rest.
#   tools/dist_train.sh CONFIG GPUS [train.py options]
# GPUS, PYTHON, PORT (or MASTER_PORT): see dist_run.sh. Several machines: run it on each with
# NNODES, NODE_RANK, MASTER_ADDR (and PORT) set, e.g.
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 tools/dist_train.sh CONFIG 8   # first machine
#   NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 tools/dist_train.sh CONFIG 8   # second machine
set -euo pipefail
CONFIG=$1
GPUS=$2
shift 2
exec "$(dirname "$0")/dist_run.sh" tools/train.py "$GPUS" "$CONFIG" --launcher pytorch "$@"
