# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
from .layer_norm_2d import LayerNorm2d
from .subpixel_tokens import subpixel_forward

__all__ = ['LayerNorm2d', 'subpixel_forward']
