# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
from .frozen_feature_cache_hook import FrozenFeatureCacheHook
from .mask_check_hook import MaskCheckHook
from .rng_state_hook import RngStateHook
from .trainable_only_checkpoint_hook import TrainableOnlyCheckpointHook

__all__ = ['FrozenFeatureCacheHook', 'MaskCheckHook', 'RngStateHook',
           'TrainableOnlyCheckpointHook']
