# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
from .detail_stem import DetailStem
from .layer_norm_2d import LayerNorm2d
from .subpixel_tokens import subpixel_forward

__all__ = ['DetailStem', 'LayerNorm2d', 'subpixel_forward']
