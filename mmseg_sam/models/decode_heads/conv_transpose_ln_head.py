# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""A decode head that upsamples by transposed convolutions, as in the prompt-free SAM recipe."""
from typing import List, Optional, Sequence, Tuple

import torch
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import nn

from ..layers import LayerNorm2d, subpixel_forward
from ..utils.strict_loading import StrictLoadingMixin

#: ``forward_mode`` values (see :class:`ConvTransposeLNHead`).
FORWARD_MODES = ('subpixel', 'modules')

#: Losses that softmax over the logit channels (or need one channel per class), so that with
#: one logit they learn nothing or fail at the first step.
SOFTMAX_ONLY_LOSSES = ('TverskyLoss', 'OhemCrossEntropy', 'HuasdorffDisstanceLoss',
                       'KLDivLoss')


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
        self.dropout_prob = dropout

    def forward_fused(self, x: torch.Tensor, skips: Sequence[torch.Tensor]) -> torch.Tensor:
        """The block with ``skips`` (each (B, C_out, 2h, 2w)) added to the upsampled
        features before the norm, as SAM 2's mask decoder adds its high-resolution
        features: (B, C_in, h, w) -> (B, C_out, 2h, 2w)."""
        x = self[0](x)
        for skip in skips:
            x = x + skip
        for layer in list(self)[1:]:
            x = layer(x)
        return x


class SkipProjection(nn.Conv2d):
    """1x1 convolution of a skip input to the decoder's width, zero-initialised.

    Zero weights and bias make the fused head start exactly as the head without skips, and
    the skip's contribution grows only as far as training finds it useful (the gradient of
    a zero-initialised 1x1 convolution is not zero: it is the skip times the output
    gradient).

    With ``normalize=True`` each pixel's skip channels are first normalised to zero mean and
    unit variance (:class:`LayerNorm2d` without affine weights: the 1x1 convolution is the
    affine part, so parameters and state-dict keys stay the same). Why: Adam moves every
    weight of the zero-initialised projection by about ``lr`` per step whatever its
    gradient, so the skip's contribution grows with the raw scale and mean of the features,
    which for MobileSAM's stages are far above the neck output's (README, "Detail-preserving
    head on few labels": on 10 football frames the un-normalised skips held the model at the
    all-background prediction for 120 to 190 of 500 iterations).

    Shapes: (B, in_channels, h, w) -> (B, out_channels, h, w).
    """

    def __init__(self, in_channels: int, out_channels: int, in_index: int, stride: int,
                 depth: int, normalize: bool = False) -> None:
        super().__init__(in_channels, out_channels, kernel_size=1)
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)
        self.in_index = in_index
        self.skip_stride = stride  # not `stride`: that is the convolution's own (1, 1)
        self.depth = depth  # upsampling blocks before the decoder reaches skip_stride
        self.input_norm = LayerNorm2d(in_channels, affine=False) if normalize else None

    def forward(self, skip: torch.Tensor) -> torch.Tensor:
        if self.input_norm is not None:
            skip = self.input_norm(skip)
        return super().forward(skip)

    def extra_repr(self) -> str:
        return (f'{super().extra_repr()}, in_index={self.in_index}, '
                f'skip_stride={self.skip_stride}, depth={self.depth}')


@MODELS.register_module()
class ConvTransposeLNHead(StrictLoadingMixin, BaseDecodeHead):
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
        forward_mode: 'modules' (default) runs the ``nn.Sequential`` blocks as written.
            'subpixel' (opt-in) computes the same blocks as per-pixel matmuls that keep the
            full-resolution tensors in one layout (see
            :mod:`mmseg_sam.models.layers.subpixel_tokens`): same parameters, keys and
            dropout masks, equal up to float rounding (losses of 20 SGD steps within 2e-4
            relative of 'modules', tested; with AdamW 1.4e-3 after 20 steps, as between 1
            and 2 threads of 'modules'); on a 2-core CPU its forward + backward took 1.1 s
            instead of 3.7 s (batch 2, 576x1024), a cached training step 1.5x less. Not the
            default because its rounding changes published runs. With
            ``dropout_ratio > 0`` (channel-wise Dropout2d) 'modules' is used.
        skips: None (default: the seed decoder) or a sequence of ``dict(in_index=I,
            in_channels=C, stride=S[, normalize=False])``: backbone output ``I`` (C
            channels, at 1/S of the input image), per pixel normalised over its channels if
            ``normalize``, is projected by a zero-initialised 1x1 convolution
            (:class:`SkipProjection`) and added where the decoder reaches stride S: to the
            head input if S equals ``input_stride``, else to the upsampled features of the
            block that reaches S, before its norm. For example MobileSAM's stage outputs
            (``SAMFrozenBackbone(out_indices=(0, 1))``: 64 channels at stride 4, 128 at 8)
            and the backbone's ``detail_stem`` (stride 1, 2, ...). The projections start at
            zero, so an untrained fused head computes what the seed head computes.
        input_stride: stride of the head input relative to the image (16 for SAM's neck);
            it places the skips.
        init_cfg: None (default) keeps PyTorch's default initialisation of every layer, as
            the reference decoder does; MMSeg's N(0, 0.01) for ``conv_seg`` trains slower.
        **kwargs: the remaining :class:`BaseDecodeHead` arguments (``num_classes``,
            ``out_channels``, ``threshold``, ``loss_decode``, ``in_index``, ...).

    Shapes: input ``inputs[in_index]`` (B, in_channels, h, w) -> logits
    (B, out_channels, h * 2**N, w * 2**N) with N = len(block_channels).

    Head and loss are checked when the head is built, so that a mistake fails before the
    run rather than mid-run or never: ``out_channels=1`` needs ``num_classes=2`` and losses
    that read one sigmoid logit; ``out_channels=C > 1`` needs ``num_classes=C``. Loading a
    model checkpoint is strict for this module (see :class:`StrictLoadingMixin`).
    """

    def __init__(self,
                 in_channels: int = 256,
                 block_channels: Sequence[int] = (128, 64, 32, 16),
                 block_dropouts: Optional[Sequence[float]] = (0.2, 0.0, 0.2, 0.0),
                 norm_eps: float = 1e-6,
                 dropout_ratio: float = 0.0,
                 forward_mode: str = 'modules',
                 skips: Optional[Sequence[dict]] = None,
                 input_stride: int = 16,
                 **kwargs) -> None:
        if forward_mode not in FORWARD_MODES:
            raise ValueError(f'forward_mode={forward_mode!r} is unknown; expected one of '
                             f'{list(FORWARD_MODES)}')
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
        check_classes(kwargs.get('num_classes'), kwargs.get('out_channels'))
        # BaseDecodeHead initialises conv_seg with N(0, 0.01). The reference decoder keeps
        # PyTorch's default initialisation everywhere, and with the small-logit start the
        # frozen-SAM model learns several times slower (measured: BCE 0.46 vs 0.20 after 60
        # Adam steps on one football frame), so the default here is no init_cfg.
        kwargs.setdefault('init_cfg', None)
        super().__init__(in_channels=in_channels, channels=block_channels[-1],
                         dropout_ratio=dropout_ratio, **kwargs)
        if self.out_channels == 1:
            check_one_logit_losses(self.loss_decode)
        self.forward_mode = forward_mode
        widths = (in_channels,) + block_channels
        self.upsample_blocks = nn.Sequential(*[
            UpsampleBlock(widths[i], widths[i + 1], block_dropouts[i], norm_eps)
            for i in range(len(block_channels))])
        # Only created with skips, so the seed head's parameters and keys stay as they are.
        if not isinstance(input_stride, int) or input_stride < 1 or \
                input_stride & (input_stride - 1):
            raise ValueError(f'model.decode_head.input_stride={input_stride!r}: expected the '
                             f'stride of the head input as a power of two (16 for SAM\'s neck)')
        if skips:
            if forward_mode == 'subpixel':
                raise ValueError("ConvTransposeLNHead: forward_mode='subpixel' computes each "
                                 "input pixel's sub-pixels independently, which skips break. "
                                 "Fix: forward_mode='modules' (the default) with skips.")
            self.skip_projections = nn.ModuleList(
                build_skip_projection(skip, index, widths, input_stride)
                for index, skip in enumerate(skips))
        else:
            self.skip_projections = None
        self.input_stride = input_stride

    def checkpoint_mismatch_hint(self, config_path: str, checkpoint_keys: Sequence[str],
                                 wrong_shape: Sequence[str]) -> str:
        """Cause and fix for a model checkpoint that does not fit (see StrictLoadingMixin)."""
        return (f'Was this checkpoint trained with this config? {config_path}.num_classes, '
                f'.out_channels and .block_channels must be those of training. To fine-tune '
                f'from a checkpoint with another head, load only its encoder: '
                f"model.backbone.init_cfg=dict(type='Pretrained', checkpoint=PATH, "
                f"prefix='backbone.encoder.') and no load_from.")

    def forward(self, inputs: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Map backbone outputs to logits (B, out_channels, h * 2**N, w * 2**N)."""
        features = self._transform_inputs(inputs)
        if features.shape[1] != self.in_channels:
            raise ValueError(f'ConvTransposeLNHead got {features.shape[1]} input channels at '
                             f'in_index={self.in_index}, expected in_channels={self.in_channels}')
        if self.skip_projections is not None:
            return self.cls_seg(self._fused_forward(features, inputs))
        if self.forward_mode == 'subpixel' and self.dropout is None:
            blocks = [(block[0], block[1], block.dropout_prob) for block in self.upsample_blocks]
            return subpixel_forward(features, blocks, self.conv_seg, self.training)
        return self.cls_seg(self.upsample_blocks(features))

    def _fused_forward(self, features: torch.Tensor,
                       inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Upsample ``features`` and add each projected skip where its stride is reached.

        Returns:
            (B, block_channels[-1], h * 2**N, w * 2**N), the input of ``cls_seg``.
        """
        by_depth: List[List[torch.Tensor]] = [[] for _ in range(len(self.upsample_blocks) + 1)]
        for projection in self.skip_projections:
            depth = projection.depth
            expected = (features.shape[-2] << depth, features.shape[-1] << depth)
            skip = inputs[projection.in_index]
            if skip.dim() != 4 or tuple(skip.shape[-2:]) != expected or \
                    skip.shape[1] != projection.in_channels:
                raise ValueError(
                    f'ConvTransposeLNHead skip in_index={projection.in_index} '
                    f'(stride={projection.skip_stride}, in_channels={projection.in_channels}): '
                    f'expected (B, {projection.in_channels}, {expected[0]}, {expected[1]}) '
                    f'for a head input of {tuple(features.shape)}, got {tuple(skip.shape)}. '
                    f'Fix: in_index, in_channels and stride of the skip must name a backbone '
                    f"output of that size (see the backbone's out_indices and detail_stem).")
            by_depth[depth].append(projection(skip))
        x = features
        for skip in by_depth[0]:
            x = x + skip
        for depth, block in enumerate(self.upsample_blocks, start=1):
            x = block.forward_fused(x, by_depth[depth])
        return x


def build_skip_projection(skip: dict, index: int, widths: Sequence[int],
                          input_stride: int) -> SkipProjection:
    """Check one ``skips`` entry and build its projection to the decoder width it joins.

    Args:
        skip: ``dict(in_index=I, in_channels=C, stride=S)``.
        index: its position in ``skips`` (for messages).
        widths: ``(in_channels,) + block_channels``: the decoder width at each depth.
        input_stride: stride of the head input.
    """
    where = f'model.decode_head.skips[{index}]'
    required = {'in_index', 'in_channels', 'stride'}
    if not isinstance(skip, dict) or not required <= set(skip) <= required | {'normalize'}:
        raise ValueError(f'{where}={skip!r}: expected dict(in_index=BACKBONE_OUTPUT, '
                         f'in_channels=CHANNELS, stride=STRIDE) and optionally '
                         f'normalize=True/False, no other keys')
    in_index, in_channels, stride = skip['in_index'], skip['in_channels'], skip['stride']
    normalize = skip.get('normalize', False)
    if not isinstance(normalize, bool):
        raise ValueError(f'{where}: normalize must be True or False, got {normalize!r}')
    if not isinstance(in_index, int) or not isinstance(in_channels, int) or in_channels <= 0:
        raise ValueError(f'{where}: in_index must be an int and in_channels a positive int, '
                         f'got {skip!r}')
    strides = [input_stride >> depth for depth in range(len(widths))]
    if not isinstance(stride, int) or stride not in strides:
        raise ValueError(f'{where}: stride={stride!r} is not a stride the decoder passes '
                         f'through; with input_stride={input_stride} and {len(widths) - 1} '
                         f'upsampling blocks it is at strides {strides}')
    depth = strides.index(stride)
    return SkipProjection(in_channels, widths[depth], in_index, stride, depth, normalize)


def check_classes(num_classes: Optional[int], out_channels: Optional[int]) -> None:
    """``num_classes`` and ``out_channels`` of the head agree (before MMSeg's own check)."""
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            f'model.decode_head.num_classes={num_classes!r}: expected the number of classes '
            f'including background, at least 2. Fix: for a binary task use num_classes=2, '
            f'out_channels=1 and a sigmoid loss; for C classes num_classes=out_channels=C.')
    if out_channels == 1 and num_classes != 2:
        raise ValueError(
            f'model.decode_head.out_channels=1 (one sigmoid logit) only works for a binary '
            f'task, but num_classes={num_classes}: the logit can only tell foreground from '
            f'background, so classes 2.. are never predicted. Fix: set '
            f'model.decode_head.out_channels={num_classes} with a softmax loss '
            f"(loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False)), or "
            f'num_classes=2 for a binary task.')
    if out_channels is not None and out_channels not in (1, num_classes):
        raise ValueError(
            f'model.decode_head.out_channels={out_channels} does not match '
            f'num_classes={num_classes}: the head needs one logit per class (or one sigmoid '
            f'logit for a binary task). Fix: set model.decode_head.out_channels={num_classes}'
            f'{" (or 1 with a sigmoid loss)" if num_classes == 2 else ""}, or num_classes to '
            f'the number of classes of the data.')


def check_one_logit_losses(losses: nn.Module) -> None:
    """Every loss of a one-logit head reads that logit as a sigmoid probability."""
    several = isinstance(losses, nn.ModuleList)
    for index, loss in enumerate(losses if several else [losses]):
        name = type(loss).__name__
        where = f'model.decode_head.loss_decode{f"[{index}]" if several else ""} ({name})'
        if getattr(loss, 'use_sigmoid', True) is False:
            raise ValueError(
                f'{where} has use_sigmoid=False (softmax over the logits), but '
                f'model.decode_head.out_channels=1: a softmax of one logit is always 1, and '
                f"the labels 0/1 do not fit one class (torch: 'Target 1 is out of bounds'). "
                f'Fix: use_sigmoid=True for this binary head, or out_channels=2 with the '
                f'softmax loss.')
        if name == 'DiceLoss':
            raise ValueError(
                f"{where}: MMSeg's DiceLoss one-hot encodes the label with one channel per "
                f'logit, so with out_channels=1 it scores the foreground probability against '
                f"the background mask. Fix: use dict(type='SoftDiceLoss') (sigmoid for one "
                f'logit, ignores ignore_index), or out_channels=2.')
        if name in SOFTMAX_ONLY_LOSSES or (
                name == 'LovaszLoss' and getattr(loss, 'cls_criterion', None) is not None
                and 'softmax' in getattr(loss.cls_criterion, '__name__', '')):
            raise ValueError(
                f'{where} works on a softmax over one logit per class, but '
                f'model.decode_head.out_channels=1. Fix: use a sigmoid loss '
                f"(dict(type='CrossEntropyLoss', use_sigmoid=True), dict(type='SoftDiceLoss')) "
                f'or out_channels=2.')
