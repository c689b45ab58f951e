# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
from .binarize_mask import BinarizeMask

__all__ = ['BinarizeMask']
