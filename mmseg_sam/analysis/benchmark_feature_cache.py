# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Seconds per training epoch with and without the frozen-feature cache (the logic of
``tools/analysis/benchmark_feature_cache.py``)."""
import copy
import time
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

import mmseg_sam  # noqa: F401

__all__ = ['benchmark_feature_cache', 'render_table', 'run_epochs', 'speedup']

#: The cache settings timed when the config's backbone has none.
DEFAULT_CACHE = dict(max_memory_mb=4096)


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


def benchmark_feature_cache(cfg: Config, frames: int, epochs: int) -> Dict[str, List[float]]:
    """Seconds of each epoch over the first ``frames`` training frames of ``cfg``, once with
    ``feature_cache`` off (``'no cache'``) and once on (``'cache'``: the config's own cache
    settings, else :data:`DEFAULT_CACHE`).

    Raises:
        ValueError: the training set has fewer than ``frames`` frames.
    """
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    if len(dataset) < frames:
        raise ValueError(f'--frames {frames}: the training set has only {len(dataset)}')
    samples = [dataset[i] for i in range(frames)]
    batch_size = cfg.train_dataloader.batch_size
    cache_cfg = cfg.model.backbone.get('feature_cache') or dict(DEFAULT_CACHE)
    return {
        'no cache': run_epochs(cfg, samples, epochs, batch_size, None),
        'cache': run_epochs(cfg, samples, epochs, batch_size, cache_cfg),
    }


def render_table(results: Dict[str, List[float]]) -> str:
    """Markdown table: one row per setting, one column of seconds per epoch."""
    epochs = len(next(iter(results.values())))
    lines = ['| feature cache | ' + ' | '.join(f'epoch {i + 1} (s)' for i in range(epochs))
             + ' |', '|---|' + '---|' * epochs]
    for name, timings in results.items():
        lines.append(f'| {name} | ' + ' | '.join(f'{t:.1f}' for t in timings) + ' |')
    return '\n'.join(lines)


def speedup(results: Dict[str, List[float]]) -> float:
    """Mean epoch time without the cache over that with it, epochs after the first (all
    epochs when there is one)."""
    epochs = len(results['cache'])
    later = slice(1, None) if epochs > 1 else slice(0, None)
    uncached = sum(results['no cache'][later]) / len(results['no cache'][later])
    cached = sum(results['cache'][later]) / len(results['cache'][later])
    return uncached / cached
