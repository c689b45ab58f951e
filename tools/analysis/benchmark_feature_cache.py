# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Measure time per training epoch with and without the frozen-feature cache.

Builds the model and the training data of a config, then runs the same training steps
(forward, backward, optimiser step) for ``--epochs`` epochs over ``--frames`` frames, once
with ``feature_cache`` off and once with it on, and prints seconds per epoch. Epoch 1 with
the cache includes running the encoder (filling the cache); later epochs read it.

    python tools/analysis/benchmark_feature_cache.py CONFIG [--frames 10] [--epochs 3]
        [--cfg-options ...]
"""
import argparse
from typing import List, Optional

import torch
from mmengine.config import DictAction

from mmseg_sam.analysis.benchmark_feature_cache import (
    benchmark_feature_cache,
    render_table,
    speedup,
)
from mmseg_sam.utils.config_loading import load_config_file


def main(argv: Optional[List[str]] = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--frames', type=int, default=10)
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = load_config_file(args.config, args.cfg_options, what='CONFIG')
    results = benchmark_feature_cache(cfg, args.frames, args.epochs)
    print(f'{args.frames} frames, batch {cfg.train_dataloader.batch_size}, '
          f'{torch.get_num_threads()} threads')
    print(render_table(results))
    print(f'epochs after the first: {speedup(results):.2f}x faster with the cache')
    return results


if __name__ == '__main__':
    main()
