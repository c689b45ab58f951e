# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Resolves ``feature_cache.enabled='auto'`` for the training pipeline, and reports on it."""
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ...models.backbones.sam_frozen_backbone import SAMFrozenBackbone
from ...models.utils.feature_cache_policy import decide_feature_cache


@HOOKS.register_module()
class FrozenFeatureCacheHook(Hook):
    """Apply the frozen-feature cache's ``enabled`` setting to the training run, and log it.

    The model owns the setting (``SAMFrozenBackbone(feature_cache=dict(enabled=...))``) and
    :func:`~mmseg_sam.models.utils.feature_cache_policy.decide_feature_cache` owns what it
    means; this hook only feeds that function the training pipeline, which the model cannot
    see, and reports. Before training:

    * ``enabled='auto'``: the decision (on for a deterministic pipeline or finitely many
      variants such as ``RandomFlip``, off for unbounded random transforms or batch
      augments) is applied and logged with the transforms named.
    * ``enabled=True``: kept; with an unbounded random pipeline a warning says that the
      cache then only costs memory and hashing time.
    * ``enabled=False``: kept, and logged.
    * a trunk that trains (``model.backbone.lora``): off whatever the pipeline, and the log
      line says why (``enabled=True`` was already refused when the model was built).

    After each epoch (once at the end for iteration-based loops) it logs hits, misses and
    entries.

    Args:
        extra_random_types: names of custom transforms that are random (with unboundedly
            many variants) although their name does not contain 'Random'.
    """

    priority = 'NORMAL'

    def __init__(self, extra_random_types: Sequence[str] = ()) -> None:
        self.extra_random_types = tuple(extra_random_types)

    @staticmethod
    def find_backbone(runner) -> Optional[SAMFrozenBackbone]:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        backbone = getattr(model, 'backbone', None)
        return backbone if isinstance(backbone, SAMFrozenBackbone) else None

    def before_train(self, runner) -> None:
        backbone = self.find_backbone(runner)
        if backbone is None or backbone.feature_cache is None:
            return
        cache = backbone.feature_cache
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        decision = decide_feature_cache(
            cache.setting, runner.cfg.get('train_dataloader', {}).get('dataset', {}),
            self.extra_random_types,
            getattr(getattr(model, 'data_preprocessor', None), 'batch_augments', None),
            trainable_trunk=getattr(backbone, 'lora_description', None))
        if cache.setting == 'auto':  # an explicit True/False is never overridden
            cache.enabled = decision.enabled
        setting = f'enabled={cache.setting!r}'
        if not cache.enabled:
            why = decision.reason if cache.setting == 'auto' or decision.trainable_trunk else (
                f'as configured ({decision.reason})')
            runner.logger.info(f'Frozen-feature cache OFF ({setting}): {why}.')
            return
        details = (f'{cache.storage_dtype}, memory limit {cache.max_memory_bytes / 2**20:.0f} '
                   f'MB, disk {cache.disk_dir or "off"}')
        if decision.unbounded:  # only reachable with an explicit True
            runner.logger.warning(
                f'Frozen-feature cache ON ({setting}; {details}) although {decision.reason}: '
                f'almost every lookup misses, so the cache only costs memory and hashing '
                f"time. Set model.backbone.feature_cache.enabled='auto' or False to drop it.")
            return
        runner.logger.info(f'Frozen-feature cache ON ({setting}; {details}): '
                           f'{decision.reason}; the encoder runs once per distinct input.')

    def after_train_epoch(self, runner) -> None:
        # MMEngine's IterBasedTrainLoop also calls this once, at the end of training.
        backbone = self.find_backbone(runner)
        if backbone is None or backbone.feature_cache is None:
            return
        cache = backbone.feature_cache
        if cache.enabled:
            runner.logger.info(f'Frozen-feature cache: {len(cache)} entries in memory, '
                               f'stats {cache.stats}')
