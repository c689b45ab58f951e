# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
from .feature_cache_policy import FeatureCacheDecision, decide_feature_cache
from .frozen_feature_cache import FrozenFeatureCache, build_feature_cache
from .strict_loading import (
    CheckpointMismatchError,
    StrictLoadingMixin,
    format_key_list,
    format_key_report,
)

__all__ = ['CheckpointMismatchError', 'FeatureCacheDecision', 'FrozenFeatureCache',
           'StrictLoadingMixin', 'build_feature_cache', 'decide_feature_cache',
           'format_key_list', 'format_key_report']
