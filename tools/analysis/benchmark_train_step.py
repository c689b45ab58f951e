# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Measure seconds per training step of one or more configs on this machine.

For each config: build its model, optimiser wrapper and one batch of its training data,
then time ``--steps`` calls of ``model.train_step`` (data preprocessor, forward, loss,
backward, optimiser step: what MMEngine's runner does each iteration) after ``--warmup``
untimed ones. Data loading is left out (the batch is read once), so the numbers compare
the models, not the disks. Pretrained weights are not loaded: they do not change the time of
a step, and configs whose weights cannot be downloaded can be timed all the same.

The same batch repeats, so a frozen-encoder model with a feature cache is timed in its
steady state (encoder output read from the cache, as in every epoch after the first);
``--cfg-options model.backbone.feature_cache=None`` times it with the encoder in every step.

    python tools/analysis/benchmark_train_step.py CONFIG [CONFIG ...] [--warmup 1]
        [--steps 3] [--cfg-options ...] [--json FILE]

Prints a markdown table: config, trainable / total parameters, median seconds per step,
ratio to the first config, and the time ``train_cfg.max_iters`` such steps would take.
"""
import argparse
import json
from pathlib import Path
from typing import List, Optional

import torch
from mmengine.config import DictAction

from mmseg_sam.analysis.benchmark_train_step import benchmark_configs, render_table


def main(argv: Optional[List[str]] = None) -> List[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--warmup', type=int, default=1,
                        help='untimed steps first (fill caches, allocate buffers)')
    parser.add_argument('--steps', type=int, default=3, help='timed steps (1 or more)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='merged into every config')
    parser.add_argument('--json', help='also write the rows to this file')
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 0:
        parser.error(f'--steps must be 1 or more and --warmup 0 or more, got --steps '
                     f'{args.steps} --warmup {args.warmup}')
    rows = benchmark_configs(args.configs, args.cfg_options, args.warmup, args.steps,
                             log=lambda line: print(line, flush=True))
    print(f'{torch.get_num_threads()} threads, {args.warmup} warm-up + {args.steps} timed '
          'steps per config, data loading excluded')
    print(render_table(rows))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == '__main__':
    main()
