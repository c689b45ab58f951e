# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""A decode head that upsamples by transposed convolutions, as in the prompt-free SAM recipe."""
from typing import List, Optional, Sequence, Tuple

import torch
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import nn

from ..layers import LayerNorm2d


class UpsampleBlock(nn.Sequential):
    """ConvTranspose2d(k2, s2) + LayerNorm2d + ReLU [+ Dropout].

    Shapes: (B, C_in, h, w) -> (B, C_out, 2h, 2w). Dropout is element-wise
    (``nn.Dropout``), as in the reference decoder.
    """

    def __init__(self, in_channels: int, out_channels: int, dropout: float,
                 norm_eps: float) -> None:
        layers: List[nn.Module] = [
            nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2),
            LayerNorm2d(out_channels, eps=norm_eps),
            nn.ReLU(inplace=True),
        ]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        super().__init__(*layers)


@MODELS.register_module()
class ConvTransposeLNHead(BaseDecodeHead):
    """Upsampling decoder of N transposed-conv blocks and a 1x1 classifier.

    With the defaults it is the decoder of the prompt-free SAM fine-tuning recipe: four
    blocks 256 -> 128 -> 64 -> 32 -> 16 channels, each doubling the resolution (so 64x64
    features give 1024x1024 logits), Dropout(0.2) after blocks 1 and 3, then ``conv_seg``
    (1x1) to ``out_channels``. For binary tasks use ``num_classes=2, out_channels=1`` with a
    sigmoid loss (``use_sigmoid=True``) and ``threshold``; for C classes ``num_classes=C``.

    Args:
        in_channels: channels of the selected backbone output (256 for SAM's neck).
        block_channels: output channels of each upsampling block; the last one is also
            ``channels`` of :class:`BaseDecodeHead` (the input of ``conv_seg``).
        block_dropouts: dropout probability after each block (0 = none); same length as
            ``block_channels``.
        norm_eps: LayerNorm2d epsilon.
        dropout_ratio: MMSeg's Dropout2d before ``conv_seg``; 0 here, as in the recipe.
        init_cfg: None (default) keeps PyTorch's default initialisation of every layer, as
            the reference decoder does; MMSeg's N(0, 0.01) for ``conv_seg`` trains slower.
        **kwargs: the remaining :class:`BaseDecodeHead` arguments (``num_classes``,
            ``out_channels``, ``threshold``, ``loss_decode``, ``in_index``, ...).

    Shapes: input ``inputs[in_index]`` (B, in_channels, h, w) -> logits
    (B, out_channels, h * 2**N, w * 2**N) with N = len(block_channels).
    """

    def __init__(self,
                 in_channels: int = 256,
                 block_channels: Sequence[int] = (128, 64, 32, 16),
                 block_dropouts: Optional[Sequence[float]] = (0.2, 0.0, 0.2, 0.0),
                 norm_eps: float = 1e-6,
                 dropout_ratio: float = 0.0,
                 **kwargs) -> None:
        block_channels = tuple(block_channels)
        if not block_channels or any(not isinstance(c, int) or c <= 0 for c in block_channels):
            raise ValueError(f'block_channels must be a non-empty sequence of positive ints, '
                             f'got {block_channels!r}')
        if block_dropouts is None:
            block_dropouts = (0.0,) * len(block_channels)
        block_dropouts = tuple(float(p) for p in block_dropouts)
        if len(block_dropouts) != len(block_channels):
            raise ValueError(f'block_dropouts has {len(block_dropouts)} entries but '
                             f'block_channels has {len(block_channels)}; give one dropout '
                             f'probability per block')
        if any(not 0.0 <= p < 1.0 for p in block_dropouts):
            raise ValueError(f'block_dropouts must lie in [0, 1), got {block_dropouts}')
        if not isinstance(in_channels, int) or in_channels <= 0:
            raise ValueError(f'in_channels must be a positive int (a single selected input), '
                             f'got {in_channels!r}')
        if 'channels' in kwargs and kwargs['channels'] != block_channels[-1]:
            raise ValueError(f"channels={kwargs['channels']} contradicts block_channels[-1]="
                             f'{block_channels[-1]}; leave `channels` out')
        kwargs.pop('channels', None)
        # BaseDecodeHead initialises conv_seg with N(0, 0.01). The reference decoder keeps
        # PyTorch's default initialisation everywhere, and with the small-logit start the
        # frozen-SAM model learns several times slower (measured: BCE 0.46 vs 0.20 after 60
        # Adam steps on one football frame), so the default here is no init_cfg.
        kwargs.setdefault('init_cfg', None)
        super().__init__(in_channels=in_channels, channels=block_channels[-1],
                         dropout_ratio=dropout_ratio, **kwargs)
        widths = (in_channels,) + block_channels
        self.upsample_blocks = nn.Sequential(*[
            UpsampleBlock(widths[i], widths[i + 1], block_dropouts[i], norm_eps)
            for i in range(len(block_channels))])

    def forward(self, inputs: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Map backbone outputs to logits (B, out_channels, h * 2**N, w * 2**N)."""
        features = self._transform_inputs(inputs)
        if features.shape[1] != self.in_channels:
            raise ValueError(f'ConvTransposeLNHead got {features.shape[1]} input channels at '
                             f'in_index={self.in_index}, expected in_channels={self.in_channels}')
        return self.cls_seg(self.upsample_blocks(features))
