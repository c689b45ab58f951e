# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Keeps the frozen-feature cache honest about the training pipeline, and reports on it."""
from typing import Any, Iterator, List, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ...models.backbones.sam_frozen_backbone import SAMFrozenBackbone

#: Transforms that draw random numbers although their name does not say 'Random'.
RANDOM_TRANSFORMS_WITHOUT_RANDOM_IN_NAME = frozenset({
    'PhotoMetricDistortion', 'BioMedicalGaussianNoise', 'BioMedicalGaussianBlur',
    'BioMedicalRandomGamma', 'Albu',
})


def iter_transform_types(node: Any, in_pipeline: bool = False) -> Iterator[str]:
    """Yield every transform ``type`` inside ``pipeline``/``transforms`` lists of a config.

    Lists may nest (``RandomChoice`` takes a list of pipelines); dicts outside such lists
    (datasets, wrappers) are searched but their own ``type`` is not a transform.
    """
    if isinstance(node, dict):
        if in_pipeline and isinstance(node.get('type'), str):
            yield node['type']
        for key, value in node.items():
            yield from iter_transform_types(value, key in ('pipeline', 'transforms'))
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from iter_transform_types(item, in_pipeline)


def find_random_transforms(dataset_cfg: Any, extra_random_types: Sequence[str] = ()) -> List[str]:
    """Names of the transforms in a dataset config that make its output random."""
    extra = set(extra_random_types)
    return [name for name in iter_transform_types(dataset_cfg)
            if 'Random' in name or name in RANDOM_TRANSFORMS_WITHOUT_RANDOM_IN_NAME
            or name in extra]


@HOOKS.register_module()
class FrozenFeatureCacheHook(Hook):
    """Turn the frozen-feature cache off when training inputs are random, and log its use.

    The cache is keyed by the exact input tensor, so random augmentation can never make it
    serve wrong features, but every training input would then be new: the cache would only
    cost hashing time and memory. Before training this hook looks for random transforms in
    the training dataset's pipeline (and batch augments in the data preprocessor); if there
    are any, it switches the cache off and says which transforms caused it. After each
    epoch (once at the end for iteration-based loops) it logs hits, misses and entries.

    Args:
        extra_random_types: names of custom transforms that are random although their name
            does not contain 'Random'.
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
        dataset_cfg = runner.cfg.get('train_dataloader', {}).get('dataset', {})
        random_transforms = find_random_transforms(dataset_cfg, self.extra_random_types)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if getattr(getattr(model, 'data_preprocessor', None), 'batch_augments', None):
            random_transforms.append('data_preprocessor.batch_augments')
        cache = backbone.feature_cache
        if random_transforms:
            cache.enabled = False
            runner.logger.warning(
                f'Frozen-feature cache OFF: the training pipeline is random '
                f'({sorted(set(random_transforms))}), so no input repeats across epochs.')
        else:
            runner.logger.info(
                f'Frozen-feature cache ON ({cache.storage_dtype}, memory limit '
                f'{cache.max_memory_bytes / 2**20:.0f} MB, disk '
                f'{cache.disk_dir or "off"}): the encoder runs once per distinct input.')

    def after_train_epoch(self, runner) -> None:
        # MMEngine's IterBasedTrainLoop also calls this once, at the end of training.
        backbone = self.find_backbone(runner)
        if backbone is None or backbone.feature_cache is None:
            return
        cache = backbone.feature_cache
        if cache.enabled:
            runner.logger.info(f'Frozen-feature cache: {len(cache)} entries in memory, '
                               f'stats {cache.stats}')
