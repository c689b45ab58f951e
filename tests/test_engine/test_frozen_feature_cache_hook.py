# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
from types import SimpleNamespace

import pytest
from helpers import TINY_VIT_ARCH
from mmengine.config import Config
from mmengine.logging import MMLogger
from torch import nn

from mmseg_sam.engine.hooks import FrozenFeatureCacheHook
from mmseg_sam.models.backbones import SAMFrozenBackbone


def fake_runner(pipeline):
    model = nn.Module()
    model.backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64,
                                       feature_cache=dict(max_memory_mb=8))
    cfg = Config(dict(train_dataloader=dict(dataset=dict(type='AdBoardDataset',
                                                         pipeline=pipeline))))
    return SimpleNamespace(model=model, cfg=cfg,
                           logger=MMLogger.get_instance('cache-hook-test'))


@pytest.mark.parametrize('pipeline, enabled', [
    ([dict(type='LoadImageFromFile'), dict(type='Resize', scale=(64, 64))], True),
    ([dict(type='LoadImageFromFile'), dict(type='RandomFlip', prob=0.5)], False),
])
def test_cache_follows_the_training_pipeline(pipeline, enabled, caplog):
    runner = fake_runner(pipeline)
    hook = FrozenFeatureCacheHook()
    hook.before_train(runner)
    assert runner.model.backbone.feature_cache.enabled is enabled
    hook.after_train_epoch(runner)  # logs stats; must not fail either way
