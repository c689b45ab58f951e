# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""LayerNorm over the channels of an NCHW tensor, through PyTorch's fused kernel."""
import torch
import torch.nn.functional as F
from torch import nn


class LayerNorm2d(nn.LayerNorm):
    """Normalise each pixel's C channels of a (B, C, H, W) tensor, with affine weights.

    Same maths, parameters and state-dict keys (``weight``, ``bias``) as SAM's
    ``segment_anything.modeling.common.LayerNorm2d``, which spells the statistics out in
    five element-wise passes; ``F.layer_norm`` on a channels-last view does it in one fused
    kernel forward and backward, which matters in the decoder, whose last blocks run at
    full image resolution.

    Shapes: (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__(num_channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels_last = x.permute(0, 2, 3, 1)
        normalised = F.layer_norm(channels_last, self.normalized_shape, self.weight, self.bias,
                                  self.eps)
        return normalised.permute(0, 3, 1, 2)
