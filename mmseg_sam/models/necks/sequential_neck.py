# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Several necks applied one after the other, in the single neck slot of a segmentor."""
from typing import Any, Optional, Sequence

from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import nn


@MODELS.register_module()
class SequentialNeck(BaseModule):
    """Chain necks: the output of each is the input of the next.

    MMSeg's ``EncoderDecoder`` takes one ``neck``; this lets a config compose existing ones,
    e.g. :class:`ChannelProjection` (equal widths) followed by MMSeg's ``Feature2Pyramid``
    (strides 4/8/16/32 from stride-16 ViT levels).

    Args:
        necks: neck configs (built from ``mmseg.registry.MODELS``) or modules, in order.
        init_cfg: MMEngine init config. Each neck's own ``init_weights`` still runs.
    """

    def __init__(self, necks: Sequence[Any], init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(necks, (dict, nn.Module)) or not necks:
            raise ValueError(f'SequentialNeck necks must be a non-empty list of neck configs, '
                             f'got {necks!r}')
        self.necks = nn.ModuleList(
            neck if isinstance(neck, nn.Module) else MODELS.build(neck) for neck in necks)

    def forward(self, inputs: Any) -> Any:
        """Run each neck on the previous neck's output."""
        for neck in self.necks:
            inputs = neck(inputs)
        return inputs
