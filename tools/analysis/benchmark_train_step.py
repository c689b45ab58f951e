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
import copy
import json
import statistics
import time
from pathlib import Path
from typing import List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

import mmseg_sam  # noqa: F401


def load_config(path: str, options: Optional[dict]) -> Config:
    """The config at ``path`` with ``options`` merged and pretrained weights left out."""
    if not Path(path).is_file():
        raise SystemExit(f'{path}: no such file (expected an MMSeg config)')
    cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(copy.deepcopy(options))
    missing = [key for key in ('model', 'train_dataloader', 'optim_wrapper') if key not in cfg]
    if missing:
        raise SystemExit(f'{path}: a training config needs model, train_dataloader and '
                         f'optim_wrapper; {", ".join(missing)} missing')
    cfg.model.pretrained = None
    cfg.model.backbone.init_cfg = None
    return cfg


def time_train_steps(cfg: Config, warmup: int, steps: int) -> dict:
    """Seconds of each of ``steps`` training steps on the first batch of ``cfg``'s data."""
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch_size = cfg.train_dataloader.batch_size
    if len(dataset) < batch_size:
        raise SystemExit(f'train_dataloader.dataset has {len(dataset)} samples, fewer than '
                         f'one batch of {batch_size}')
    batch = pseudo_collate([dataset[i] for i in range(batch_size)])
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    for _ in range(warmup):
        model.train_step(copy.deepcopy(batch), optim_wrapper)
    seconds = []
    for _ in range(steps):
        step_batch = copy.deepcopy(batch)  # the preprocessor may move or change it in place
        start = time.perf_counter()
        model.train_step(step_batch, optim_wrapper)
        seconds.append(time.perf_counter() - start)
    params = list(model.parameters())
    cache = getattr(model.backbone, 'feature_cache', None)
    return dict(
        batch_size=batch_size,
        step_seconds=seconds,
        median_step_s=statistics.median(seconds),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        total_params=sum(p.numel() for p in params),
        max_iters=cfg.get('train_cfg', {}).get('max_iters'),
        feature_cache_stats=dict(cache.stats) if cache is not None else None)


def format_duration(seconds: float) -> str:
    minutes = seconds / 60
    return f'{minutes / 60:.1f} h' if minutes >= 90 else f'{minutes:.0f} min'


def render_table(rows: List[dict]) -> str:
    """Markdown table of ``rows``; ratios are to the first row."""
    reference = rows[0]['median_step_s']
    lines = ['| config | trainable / total params | batch | s / step (median) '
             '| x first config | time for max_iters |',
             '|---|---|---|---|---|---|']
    for row in rows:
        total = (f"{format_duration(row['median_step_s'] * row['max_iters'])} "
                 f"({row['max_iters']} it)" if row['max_iters'] else 'n/a')
        lines.append(
            f"| `{row['config']}` | {row['trainable_params'] / 1e6:.2f}M / "
            f"{row['total_params'] / 1e6:.2f}M | {row['batch_size']} | "
            f"{row['median_step_s']:.2f} | {row['median_step_s'] / reference:.1f} | {total} |")
    return '\n'.join(lines)


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
    # init_weights reports every parameter at INFO level through the newest MMLogger;
    # a WARNING-level logger of our own keeps the timings readable.
    MMLogger.get_instance('benchmark_train_step', log_level='WARNING')
    configs = [load_config(path, args.cfg_options) for path in args.configs]
    rows = []
    for path, cfg in zip(args.configs, configs):
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        row = dict(config=Path(path).stem, **time_train_steps(cfg, args.warmup, args.steps))
        print(f"{row['config']}: " + ', '.join(f'{s:.2f}' for s in row['step_seconds'])
              + ' s per step', flush=True)
        rows.append(row)
    print(f'{torch.get_num_threads()} threads, {args.warmup} warm-up + {args.steps} timed '
          'steps per config, data loading excluded')
    print(render_table(rows))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == '__main__':
    main()
