# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
from .conv_transpose_ln_head import ConvTransposeLNHead

__all__ = ['ConvTransposeLNHead']
