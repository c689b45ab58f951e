# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Bring feature levels of different widths to one width (1x1 conv + norm per level)."""
from typing import List, Optional, Sequence, Tuple

import torch
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import nn

from ..layers import LayerNorm2d

#: LayerNorm2d over channels as in SAM (the default norm); copied before use, never modified.
LN2D_NORM = dict(type='LN2d', eps=1e-6)


@MODELS.register_module()
class ChannelProjection(BaseModule):
    """A 1x1 convolution and a normalisation per input level, all to ``out_channels``.

    Necks and heads such as MMSeg's ``Feature2Pyramid`` and ``UPerHead`` pyramids expect
    levels of equal width, while :class:`SAMFrozenBackbone` with ``out_indices`` returns ViT
    block outputs (``C_vit`` channels, 768 for vit_b) followed by its neck output (256). This
    module maps every level to one width, keeping the spatial size; each level gets its own
    projection, so levels of equal width are projected too (a uniform, learnt treatment).

    The default norm is :class:`~mmseg_sam.models.layers.LayerNorm2d` (over channels, per
    pixel; SAM's maths, fused), as in SAM's own neck: it does not depend on the batch (our
    batches are 2 images) and puts the raw ViT residual stream, whose channels have very
    different scales, on the neck output's scale.

    Args:
        in_channels: channels of each input level, in order, e.g. ``[768, 768, 768, 256]``.
        out_channels: the common output width.
        norm_cfg: ``dict(type='LN2d', eps=1e-6)`` (default) for LayerNorm2d, any other
            mmcv norm config (e.g. ``dict(type='BN')``), or None for no norm (the conv then
            has a bias).
        init_cfg: MMEngine init config.

    Shapes: inputs ``[(B, in_channels[i], h_i, w_i)]`` -> ``((B, out_channels, h_i, w_i))``.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: int,
                 norm_cfg: Optional[dict] = LN2D_NORM,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        in_channels = list(in_channels) if isinstance(in_channels, (list, tuple)) else None
        if not in_channels or any(not isinstance(c, int) or c <= 0 for c in in_channels):
            raise ValueError(f'ChannelProjection in_channels must be a non-empty list of '
                             f'positive ints (one per level), got {in_channels!r}')
        if not isinstance(out_channels, int) or out_channels <= 0:
            raise ValueError(f'ChannelProjection out_channels must be a positive int, got '
                             f'{out_channels!r}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.projections = nn.ModuleList(
            self._projection(channels, out_channels, norm_cfg) for channels in in_channels)

    @staticmethod
    def _projection(in_channels: int, out_channels: int,
                    norm_cfg: Optional[dict]) -> nn.Sequential:
        layers: List[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=norm_cfg is None)]
        if norm_cfg is not None:
            norm_cfg = dict(norm_cfg)
            if norm_cfg.get('type') == 'LN2d':
                layers.append(LayerNorm2d(out_channels, eps=norm_cfg.get('eps', 1e-6)))
            else:
                layers.append(build_norm_layer(norm_cfg, out_channels)[1])
        return nn.Sequential(*layers)

    def forward(self, inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        """Project each level; raises if the levels do not match ``in_channels``."""
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'ChannelProjection got {len(inputs)} levels but in_channels '
                             f'lists {len(self.in_channels)}: {self.in_channels}')
        widths = [int(x.shape[1]) for x in inputs]
        if widths != self.in_channels:
            raise ValueError(f'ChannelProjection got levels of {widths} channels, expected '
                             f'in_channels={self.in_channels}')
        return tuple(project(x) for project, x in zip(self.projections, inputs))
