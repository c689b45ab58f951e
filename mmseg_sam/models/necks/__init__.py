# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
from .channel_projection import ChannelProjection
from .sequential_neck import SequentialNeck

__all__ = ['ChannelProjection', 'SequentialNeck']
