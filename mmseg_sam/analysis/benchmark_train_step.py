# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Seconds per training step of configs (the logic of
``tools/analysis/benchmark_train_step.py``, whose docstring describes what is timed)."""
import copy
import statistics
import time
from pathlib import Path
from typing import Callable, List, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

import mmseg_sam  # noqa: F401
from mmseg_sam.utils.config_loading import load_config_file
from mmseg_sam.utils.pretrained_weights import without_pretrained_weights

__all__ = ['benchmark_configs', 'format_duration', 'load_config', 'render_table',
           'time_steps', 'time_train_steps']


def load_config(path: str, options: Optional[dict]) -> Config:
    """The config at ``path`` with ``options`` merged and pretrained weights left out."""
    if not Path(path).is_file():
        raise SystemExit(f'{path}: no such file (expected an MMSeg config)')
    cfg = load_config_file(path, options)
    missing = [key for key in ('model', 'train_dataloader', 'optim_wrapper') if key not in cfg]
    if missing:
        raise SystemExit(f'{path}: a training config needs model, train_dataloader and '
                         f'optim_wrapper; {", ".join(missing)} missing')
    return without_pretrained_weights(cfg)


def time_train_steps(cfg: Config, warmup: int, steps: int) -> dict:
    """Seconds of each of ``steps`` training steps on the first batch of ``cfg``'s data.

    Returns:
        ``batch_size``, ``step_seconds`` (one per timed step), ``median_step_s``,
        ``trainable_params``, ``total_params``, ``max_iters`` (of ``train_cfg``, or None) and
        ``feature_cache_stats`` (the backbone's cache counters, None without a cache).
    """
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
    seconds = time_steps(model, batch, optim_wrapper, warmup, steps)
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


def time_steps(model: torch.nn.Module, batch: dict, optim_wrapper, warmup: int,
               steps: int) -> List[float]:
    """Seconds of each of ``steps`` calls of ``model.train_step(batch)`` after ``warmup``."""
    for _ in range(warmup):
        model.train_step(copy.deepcopy(batch), optim_wrapper)
    seconds = []
    for _ in range(steps):
        step_batch = copy.deepcopy(batch)  # the preprocessor may move or change it in place
        start = time.perf_counter()
        model.train_step(step_batch, optim_wrapper)
        seconds.append(time.perf_counter() - start)
    return seconds


def format_duration(seconds: float) -> str:
    """Minutes, or hours with one decimal from 90 minutes on."""
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


def benchmark_configs(paths: Sequence[str], options: Optional[dict] = None, warmup: int = 1,
                      steps: int = 3, log: Callable[[str], None] = print) -> List[dict]:
    """Time ``steps`` training steps (after ``warmup`` untimed ones) of each config.

    All configs are read (and checked) before the first is timed. ``log`` gets one line per
    config with the seconds of its steps.

    Returns:
        One row per config: ``config`` (the file stem) and :func:`time_train_steps`' keys.
    """
    # init_weights reports every parameter at INFO level through the newest MMLogger;
    # a WARNING-level logger of our own keeps the timings readable.
    MMLogger.get_instance('benchmark_train_step', log_level='WARNING')
    configs = [load_config(path, options) for path in paths]
    rows = []
    for path, cfg in zip(paths, configs):
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        row = dict(config=Path(path).stem, **time_train_steps(cfg, warmup, steps))
        log(f"{row['config']}: " + ', '.join(f'{s:.2f}' for s in row['step_seconds'])
            + ' s per step')
        rows.append(row)
    return rows
