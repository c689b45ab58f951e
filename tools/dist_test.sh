#!/usr/bin/env bash
# Distributed testing with torchrun; MMEngine's own distributed support does the rest.
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options]
# GPUS, PYTHON, PORT (or MASTER_PORT), NNODES, NODE_RANK, MASTER_ADDR: see dist_run.sh.
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
shift 3
exec "$(dirname "$0")/dist_run.sh" tools/test.py "$GPUS" "$CONFIG" "$CHECKPOINT" \
    --launcher pytorch "$@"
