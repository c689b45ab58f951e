# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""A small trainable convolution stream on the input image, for the detail the trunk misses.

SAM's trunk sees the image through 16 x 16 patches, so edges and structures a few pixels wide
are blurred in its output however good the decoder is. A few cheap convolutions on the image
itself keep that detail at full and half resolution, and a decoder can add it back where it
upsamples to those resolutions (ViTMatte's "detail capture" fuses such a stream the same way).
It trains, so its outputs are never cached.
"""
from typing import List, Sequence

import torch
from torch import nn

from .layer_norm_2d import LayerNorm2d


class DetailStem(nn.Module):
    """Levels of Conv3x3 + LayerNorm2d + ReLU on the image, level ``k`` at stride ``2**k``.

    Level 0 keeps the input resolution (stride 1); every further level halves it with a
    stride-2 convolution on the previous level's output. LayerNorm2d rather than BatchNorm:
    few-label runs train with batches of one or two images.

    Args:
        in_channels: image channels (3).
        channels: output channels of each level, e.g. ``(16, 32)``: 16 at stride 1, 32 at
            stride 2.

    Shapes: (B, in_channels, H, W) -> ``[(B, channels[k], H / 2**k, W / 2**k) for k]``
    (sizes rounded up for odd sides).
    """

    def __init__(self, in_channels: int = 3, channels: Sequence[int] = (16, 32)) -> None:
        super().__init__()
        channels = tuple(channels)
        if not channels or any(not isinstance(c, int) or c <= 0 for c in channels):
            raise ValueError(f'model.backbone.detail_stem.channels={channels!r}: expected a '
                             f'non-empty sequence of positive ints, one per level')
        widths = (in_channels,) + channels
        self.levels = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(widths[k], widths[k + 1], kernel_size=3, stride=1 if k == 0 else 2,
                          padding=1),
                LayerNorm2d(widths[k + 1]),
                nn.ReLU(inplace=True))
            for k in range(len(channels)))
        self.channels = channels

    def forward(self, image: torch.Tensor) -> List[torch.Tensor]:
        outputs = []
        x = image
        for level in self.levels:
            x = level(x)
            outputs.append(x)
        return outputs


__all__ = ['DetailStem']
