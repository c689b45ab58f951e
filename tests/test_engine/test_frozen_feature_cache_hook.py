# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
from types import SimpleNamespace

import pytest
from helpers import TINY_VIT_ARCH
from mmengine.config import Config
from torch import nn

from mmseg_sam.engine.hooks import FrozenFeatureCacheHook
from mmseg_sam.models.backbones import SAMFrozenBackbone


class RecordingLogger:
    def __init__(self) -> None:
        self.lines = []

    def info(self, message: str) -> None:
        self.lines.append(('info', message))

    def warning(self, message: str) -> None:
        self.lines.append(('warning', message))


def fake_runner(pipeline, enabled='auto'):
    model = nn.Module()
    model.backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64,
                                       feature_cache=dict(max_memory_mb=8, enabled=enabled))
    cfg = Config(dict(train_dataloader=dict(dataset=dict(type='AdBoardDataset',
                                                         pipeline=pipeline))))
    return SimpleNamespace(model=model, cfg=cfg, logger=RecordingLogger())


DETERMINISTIC = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(64, 64))]
FLIP = [dict(type='LoadImageFromFile'), dict(type='RandomFlip', prob=0.5)]
UNBOUNDED = [dict(type='LoadImageFromFile'), dict(type='RandomFlip', prob=0.5),
             dict(type='RandomResize', scale=(64, 64), ratio_range=(0.5, 2.0))]


@pytest.mark.parametrize('pipeline, setting, enabled, level, words', [
    (DETERMINISTIC, 'auto', True, 'info', ["ON (enabled='auto'", 'deterministic']),
    (FLIP, 'auto', True, 'info', ["ON (enabled='auto'", 'RandomFlip(prob=0.5)']),
    (UNBOUNDED, 'auto', False, 'info', ["OFF (enabled='auto')", 'RandomResize']),
    # Explicit settings are kept: True with an unbounded pipeline is only warned about.
    (UNBOUNDED, True, True, 'warning', ['ON (enabled=True', 'RandomResize', 'only costs memory',
                                        "enabled='auto' or False"]),
    (DETERMINISTIC, False, False, 'info', ['OFF (enabled=False): as configured']),
])
def test_hook_resolves_auto_and_reports(pipeline, setting, enabled, level, words):
    runner = fake_runner(pipeline, setting)
    hook = FrozenFeatureCacheHook()
    hook.before_train(runner)
    cache = runner.model.backbone.feature_cache
    assert (cache.setting, cache.enabled) == (setting, enabled)
    assert len(runner.logger.lines) == 1
    logged_level, message = runner.logger.lines[0]
    assert logged_level == level and all(word in message for word in words), message
    hook.after_train_epoch(runner)  # logs stats when on; must not fail either way
    assert len(runner.logger.lines) == 1 + enabled


def test_hook_declared_random_types_and_no_cache():
    runner = fake_runner([dict(type='MyJitter')])
    FrozenFeatureCacheHook(extra_random_types=['MyJitter']).before_train(runner)
    assert not runner.model.backbone.feature_cache.enabled
    runner.model.backbone.feature_cache = None  # e.g. tools/inference.py: nothing to do
    FrozenFeatureCacheHook().before_train(runner)
    assert len(runner.logger.lines) == 1
