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
import copy
import time
from typing import List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

import mmseg_sam  # noqa: F401


def run_epochs(cfg: Config, samples: list, epochs: int, batch_size: int,
               cache: Optional[dict]) -> List[float]:
    """Seconds of each epoch of real training steps over ``samples``."""
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.feature_cache = cache
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.train()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    timings = []
    for _ in range(epochs):
        start = time.perf_counter()
        for first in range(0, len(samples), batch_size):
            batch = model.data_preprocessor(
                pseudo_collate(samples[first:first + batch_size]), True)
            losses = model(**batch, mode='loss')
            loss = sum(v for k, v in losses.items() if 'loss' in k)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        timings.append(time.perf_counter() - start)
    return timings


def main(argv: Optional[List[str]] = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--frames', type=int, default=10)
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    if len(dataset) < args.frames:
        raise ValueError(f'--frames {args.frames}: the training set has only {len(dataset)}')
    samples = [dataset[i] for i in range(args.frames)]
    batch_size = cfg.train_dataloader.batch_size
    cache_cfg = cfg.model.backbone.get('feature_cache') or dict(max_memory_mb=4096)
    results = {
        'no cache': run_epochs(cfg, samples, args.epochs, batch_size, None),
        'cache': run_epochs(cfg, samples, args.epochs, batch_size, cache_cfg),
    }
    print(f'{args.frames} frames, batch {batch_size}, {torch.get_num_threads()} threads')
    print('| feature cache | ' + ' | '.join(f'epoch {i + 1} (s)' for i in range(args.epochs))
          + ' |')
    print('|---|' + '---|' * args.epochs)
    for name, timings in results.items():
        print(f'| {name} | ' + ' | '.join(f'{t:.1f}' for t in timings) + ' |')
    later = slice(1, None) if args.epochs > 1 else slice(0, None)
    uncached = sum(results['no cache'][later]) / len(results['no cache'][later])
    cached = sum(results['cache'][later]) / len(results['cache'][later])
    print(f'epochs after the first: {uncached / cached:.2f}x faster with the cache')
    return results


if __name__ == '__main__':
    main()
