# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
from .frozen_feature_cache import FrozenFeatureCache, build_feature_cache

__all__ = ['FrozenFeatureCache', 'build_feature_cache']
