# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""LayerNorm over the channels of an NCHW tensor: the one implementation of this package."""
import torch
import torch.nn.functional as F
from torch import nn


class LayerNorm2d(nn.LayerNorm):
    """Normalise each pixel's C channels of a (B, C, H, W) tensor, with affine weights.

    Same maths, parameters and state-dict keys (``weight``, ``bias``) as SAM's
    ``segment_anything.modeling.common.LayerNorm2d``. Two ways to compute it:

    * ``fused=True`` (default): ``F.layer_norm`` on a channels-last view, one fused kernel
      forward and backward, which matters in the decoder, whose last blocks run at full
      image resolution;
    * ``fused=False``: the statistics spelled out in NCHW as SAM writes them (five
      element-wise passes), which keeps the next convolution on the same memory format and
      kernels as in SAM. MobileSAM's trainable neck uses it: the fused kernel's rounding
      changes training results measurably, and the published football numbers were made
      with this form.

    The two agree to float32 rounding (tested). ``affine=False`` leaves out the weights
    (and their state-dict keys), for inputs whose next layer is the affine part, as the
    decode head's normalised skips.

    Shapes: (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self, num_channels: int, eps: float = 1e-6, fused: bool = True,
                 affine: bool = True) -> None:
        super().__init__(num_channels, eps=eps, elementwise_affine=affine)
        self.fused = fused

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.fused:
            mean = x.mean(dim=1, keepdim=True)
            centered = x - mean
            var = centered.square().mean(dim=1, keepdim=True)
            x = centered / torch.sqrt(var + self.eps)
            if self.weight is None:
                return x
            return x * self.weight[:, None, None] + self.bias[:, None, None]
        channels_last = x.permute(0, 2, 3, 1)
        normalised = F.layer_norm(channels_last, self.normalized_shape, self.weight, self.bias,
                                  self.eps)
        return normalised.permute(0, 3, 1, 2)

    def extra_repr(self) -> str:
        return f'{super().extra_repr()}, fused={self.fused}'
