# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
from .sam_frozen_backbone import SAMFrozenBackbone

__all__ = ['SAMFrozenBackbone']
