# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""MobileSAM's TinyViT image encoder, usable at any input size that is a multiple of 16.

The architecture is the TinyViT-5M variant that MobileSAM distilled from SAM's ViT-H encoder:

* C. Zhang et al., "Faster Segment Anything: Towards Lightweight SAM for Mobile Applications",
  arXiv:2306.14289, 2023 (MobileSAM).
* K. Wu et al., "TinyViT: Fast Pretraining Distillation for Small Vision Transformers",
  ECCV 2022.

Layout, for an input of ``H x W`` (both multiples of 16)::

    patch_embed   two stride-2 conv+BN layers                     -> C0 x H/4  x W/4
    layers.0      MBConv blocks, then downsample (stride 2)        -> C1 x H/8  x W/8
    layers.1      window-attention blocks, downsample (stride 2)   -> C2 x H/16 x W/16
    layers.2      window-attention blocks, downsample (stride 1)   -> C3 x H/16 x W/16
    layers.3      window-attention blocks                          -> C3 x H/16 x W/16
    neck          1x1 conv, LayerNorm2d, 3x3 conv, LayerNorm2d     -> 256 x H/16 x W/16

The stride-1 merge into the last stage is MobileSAM's change to TinyViT: it keeps the output
at 1/16 of the input, the resolution SAM's mask decoder expects.

Attribute names follow the official MobileSAM checkpoint, so its ``image_encoder.*`` entries
load with ``strict=True`` once that prefix is removed. Unlike the original, which derives every
token grid from ``img_size`` and reshapes the result to a fixed 64x64 grid, the grids here are
taken from the input itself, so the same weights serve 1024x1024, 1024x576, 512x512 and so on.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ..layers import LayerNorm2d

# Total down-sampling of the trunk: 4 from the stem, then 2 and 2 from the first two merges.
OUTPUT_STRIDE = 16


def drop_path(x: Tensor, prob: float, training: bool) -> Tensor:
    """Stochastic depth: zero the whole residual branch for a random subset of samples.

    Args:
        x: Residual branch output, any shape with the batch in dim 0.
        prob: Probability of dropping the branch for one sample.
        training: Identity unless True.

    Returns:
        Tensor of the same shape; surviving samples are scaled by ``1 / (1 - prob)`` so that
        the expected value is unchanged.
    """
    if prob == 0.0 or not training:
        return x
    keep = 1.0 - prob
    mask_shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    mask = x.new_empty(mask_shape).bernoulli_(keep)
    return x * mask / keep


class DropPath(nn.Module):
    """Module form of :func:`drop_path` (identity in eval mode)."""

    def __init__(self, prob: float = 0.0) -> None:
        super().__init__()
        self.prob = prob

    def forward(self, x: Tensor) -> Tensor:
        return drop_path(x, self.prob, self.training)

    def extra_repr(self) -> str:
        return f'prob={self.prob}'


class ConvBN(nn.Sequential):
    """Bias-free ``Conv2d`` followed by ``BatchNorm2d``.

    The children are called ``c`` and ``bn`` because those are the names in the pretrained
    checkpoint.

    Shape: ``(B, in_chans, H, W) -> (B, out_chans, H', W')``.
    """

    def __init__(self,
                 in_chans: int,
                 out_chans: int,
                 kernel_size: int = 1,
                 stride: int = 1,
                 groups: int = 1,
                 bn_weight_init: float = 1.0) -> None:
        super().__init__()
        self.add_module(
            'c',
            nn.Conv2d(in_chans, out_chans, kernel_size, stride=stride,
                      padding=kernel_size // 2, groups=groups, bias=False))
        bn = nn.BatchNorm2d(out_chans)
        nn.init.constant_(bn.weight, bn_weight_init)
        nn.init.zeros_(bn.bias)
        self.add_module('bn', bn)


class PatchEmbed(nn.Module):
    """Convolutional stem that reduces the resolution by 4.

    The convolutions sit in ``seq`` at indices 0 and 2 (index 1 is the activation), matching
    the checkpoint keys ``patch_embed.seq.{0,2}.*``.

    Shape: ``(B, in_chans, H, W) -> (B, embed_dim, H/4, W/4)``.
    """

    def __init__(self, in_chans: int, embed_dim: int) -> None:
        super().__init__()
        self.seq = nn.Sequential(
            ConvBN(in_chans, embed_dim // 2, kernel_size=3, stride=2),
            nn.GELU(),
            ConvBN(embed_dim // 2, embed_dim, kernel_size=3, stride=2),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.seq(x)


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand, 3x3 depthwise, 1x1 project, residual, GELU.

    Shape: ``(B, C, H, W) -> (B, C, H, W)``.
    """

    def __init__(self, dim: int, expand_ratio: float, drop_path_prob: float) -> None:
        super().__init__()
        hidden = int(dim * expand_ratio)
        self.conv1 = ConvBN(dim, hidden, kernel_size=1)
        self.conv2 = ConvBN(hidden, hidden, kernel_size=3, groups=hidden)
        # A zero BN scale makes the block start as identity (plus GELU) when trained from scratch.
        self.conv3 = ConvBN(hidden, dim, kernel_size=1, bn_weight_init=0.0)
        self.act = nn.GELU()
        self.drop_path = DropPath(drop_path_prob)

    def forward(self, x: Tensor) -> Tensor:
        branch = self.act(self.conv1(x))
        branch = self.act(self.conv2(branch))
        branch = self.conv3(branch)
        # Unlike most residual blocks, the activation comes after the sum.
        return self.act(x + self.drop_path(branch))


class PatchMerging(nn.Module):
    """Stage transition: 1x1 conv, 3x3 depthwise conv with ``stride``, 1x1 conv.

    Shape: ``(B, in_dim, H, W) -> (B, out_dim, H/stride, W/stride)``.
    """

    def __init__(self, in_dim: int, out_dim: int, stride: int) -> None:
        super().__init__()
        self.conv1 = ConvBN(in_dim, out_dim, kernel_size=1)
        self.conv2 = ConvBN(out_dim, out_dim, kernel_size=3, stride=stride, groups=out_dim)
        self.conv3 = ConvBN(out_dim, out_dim, kernel_size=1)
        self.act = nn.GELU()

    def forward(self, x: Tensor) -> Tensor:
        x = self.act(self.conv1(x))
        x = self.act(self.conv2(x))
        return self.conv3(x)


def relative_offset_index(window_size: int) -> Tensor:
    """Index of the learned bias for every (query, key) pair inside one window.

    TinyViT learns one bias per head for each absolute offset ``(|dy|, |dx|)`` between two
    positions, so a ``w x w`` window has ``w * w`` distinct biases. Offset ``(dy, dx)`` is
    stored at ``dy * w + dx``, the order in which the pretrained ``attention_biases`` columns
    were laid out.

    Returns:
        Long tensor of shape ``(w*w, w*w)`` indexing the last dim of ``attention_biases``.
    """
    axis = torch.arange(window_size)
    rows, cols = torch.meshgrid(axis, axis, indexing='ij')
    rows, cols = rows.flatten(), cols.flatten()
    dy = (rows[:, None] - rows[None, :]).abs()
    dx = (cols[:, None] - cols[None, :]).abs()
    return dy * window_size + dx


class Attention(nn.Module):
    """Multi-head self-attention inside one window, with pre-norm and a learned position bias.

    Shape: ``(num_windows, window_size**2, dim) -> (num_windows, window_size**2, dim)``.
    """

    def __init__(self, dim: int, num_heads: int, window_size: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim**-0.5
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.attention_biases = nn.Parameter(torch.zeros(num_heads, window_size * window_size))
        # Derived from window_size, so it is not part of the checkpoint.
        self.register_buffer('bias_index', relative_offset_index(window_size), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        n_win, n_tok, dim = x.shape
        x = self.norm(x)
        # The qkv output is grouped by head first and then by q/k/v, i.e. per head
        # [q (head_dim) | k (head_dim) | v (head_dim)]: the pretrained weight rows are in
        # that order, which differs from the usual [all q | all k | all v] layout.
        qkv = self.qkv(x).view(n_win, n_tok, self.num_heads, 3, self.head_dim)
        q, k, v = qkv.permute(3, 0, 2, 1, 4).unbind(0)  # each (n_win, heads, n_tok, head_dim)
        # Gathered on every call (cheap: heads x n_tok x n_tok) so it always reflects the
        # current parameter values. It broadcasts over the windows; the leading singleton dim
        # matters, since PyTorch's fused CPU kernel accepts a 4-D mask but falls back to the
        # slower unfused path for a 3-D one.
        bias = self.attention_biases[:, self.bias_index].unsqueeze(0).to(q.dtype)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=self.scale)
        out = out.transpose(1, 2).reshape(n_win, n_tok, dim)
        return self.proj(out)


class Mlp(nn.Module):
    """Pre-norm two-layer MLP with GELU.

    Shape: ``(..., dim) -> (..., dim)``.
    """

    def __init__(self, dim: int, hidden_dim: int, drop: float = 0.0) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: Tensor) -> Tensor:
        x = self.drop(self.act(self.fc1(self.norm(x))))
        return self.drop(self.fc2(x))


class TinyViTBlock(nn.Module):
    """Window attention (residual), depthwise conv (no residual), MLP (residual).

    The map is zero-padded on the bottom/right to whole windows. The padded tokens are not
    masked out of the attention; the pretrained weights were trained that way, so masking
    them would change the outputs.

    Shape: ``(B, H, W, C) -> (B, H, W, C)`` (channels last).
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 window_size: int,
                 mlp_ratio: float,
                 local_conv_size: int,
                 drop: float,
                 drop_path_prob: float) -> None:
        super().__init__()
        self.window_size = window_size
        self.attn = Attention(dim, num_heads, window_size)
        self.local_conv = ConvBN(dim, dim, kernel_size=local_conv_size, groups=dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)
        self.drop_path = DropPath(drop_path_prob)

    def _windowed_attention(self, x: Tensor) -> Tensor:
        """Apply :attr:`attn` to non-overlapping windows of ``x`` (B, H, W, C)."""
        batch, height, width, dim = x.shape
        ws = self.window_size
        pad_h, pad_w = -height % ws, -width % ws
        if pad_h or pad_w:
            x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
        rows, cols = (height + pad_h) // ws, (width + pad_w) // ws
        # (B, rows, ws, cols, ws, C) -> (B * rows * cols, ws * ws, C)
        windows = x.view(batch, rows, ws, cols, ws, dim).transpose(2, 3)
        windows = self.attn(windows.reshape(-1, ws * ws, dim))
        x = windows.view(batch, rows, cols, ws, ws, dim).transpose(2, 3)
        x = x.reshape(batch, rows * ws, cols * ws, dim)
        return x[:, :height, :width]

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop_path(self._windowed_attention(x))
        x = self.local_conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return x + self.drop_path(self.mlp(x))


class _Stage(nn.Module):
    """Blocks of one resolution followed by an optional :class:`PatchMerging`.

    ``channels_last`` tells whether the blocks work on ``(B, H, W, C)`` (attention stages)
    instead of ``(B, C, H, W)`` (the MBConv stage). Shape: ``(B, C, H, W) -> (B, C', H', W')``.
    """

    def __init__(self, blocks: Sequence[nn.Module], downsample: PatchMerging | None,
                 channels_last: bool, with_cp: bool) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.downsample = downsample
        self.channels_last = channels_last
        self.with_cp = with_cp

    def forward_blocks(self, x: Tensor) -> Tensor:
        """The blocks without the merge: ``(B, C, H, W) -> (B, C, H, W)``."""
        if self.channels_last:
            x = x.permute(0, 2, 3, 1)
        for block in self.blocks:
            if self.with_cp and self.training and x.requires_grad:
                x = checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        if self.channels_last:
            x = x.permute(0, 3, 1, 2)
        return x

    def forward(self, x: Tensor) -> Tensor:
        x = self.forward_blocks(x)
        if self.downsample is not None:
            x = self.downsample(x)
        return x


class TinyViT(nn.Module):
    """MobileSAM's TinyViT image encoder (TinyViT-5M trunk plus SAM neck).

    The defaults reproduce ``build_sam_vit_t`` of MobileSAM; smaller values give a tiny model
    for tests. There are always four stages: a convolutional one followed by three
    window-attention ones.

    Args:
        img_size: Pretraining input size (1024). Kept for reference only: the model accepts
            any height and width that are multiples of 16.
        in_chans: Input image channels.
        embed_dims: Channels of the four stages.
        depths: Number of blocks in each stage.
        num_heads: Attention heads per stage (the entry of the convolutional first stage is
            unused).
        window_sizes: Attention window side per stage (first entry unused).
        mlp_ratio: Hidden width of the transformer MLPs relative to the stage width.
        mbconv_expand_ratio: Hidden width of the MBConv blocks relative to the stage width.
        local_conv_size: Kernel of the depthwise conv between attention and MLP.
        drop_rate: Dropout inside the MLPs.
        drop_path_rate: Stochastic-depth rate of the last block; it rises linearly from 0
            over all blocks.
        out_chans: Channels of the neck output.
        num_classes: Output size of the unused classifier ``head`` kept for checkpoint
            compatibility (see below); 0 replaces it with ``nn.Identity``.
        with_cp: Recompute the blocks in backward (activation checkpointing) to save memory.
        norm_eval: Keep every BatchNorm in eval mode (frozen running statistics) even when
            the module is put in training mode, e.g. while the trunk is frozen.
    """

    def __init__(self,
                 img_size: int = 1024,
                 in_chans: int = 3,
                 embed_dims: Sequence[int] = (64, 128, 160, 320),
                 depths: Sequence[int] = (2, 2, 6, 2),
                 num_heads: Sequence[int] = (2, 4, 5, 10),
                 window_sizes: Sequence[int] = (7, 7, 14, 7),
                 mlp_ratio: float = 4.0,
                 mbconv_expand_ratio: float = 4.0,
                 local_conv_size: int = 3,
                 drop_rate: float = 0.0,
                 drop_path_rate: float = 0.0,
                 out_chans: int = 256,
                 num_classes: int = 1000,
                 with_cp: bool = False,
                 norm_eval: bool = False) -> None:
        super().__init__()
        num_stages = 4
        for name, values in (('embed_dims', embed_dims), ('depths', depths),
                             ('num_heads', num_heads), ('window_sizes', window_sizes)):
            if len(values) != num_stages:
                raise ValueError(f'TinyViT has {num_stages} stages, so {name} needs '
                                 f'{num_stages} entries; got {tuple(values)}')
        for stage in range(1, num_stages):
            if embed_dims[stage] % num_heads[stage]:
                raise ValueError(f'embed_dims[{stage}]={embed_dims[stage]} is not divisible '
                                 f'by num_heads[{stage}]={num_heads[stage]}')

        self.img_size = img_size
        self.embed_dims = tuple(embed_dims)
        self.out_chans = out_chans
        self.norm_eval = norm_eval

        self.patch_embed = PatchEmbed(in_chans, embed_dims[0])

        # One stochastic-depth probability per block, over all stages.
        probs = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        first = [sum(depths[:i]) for i in range(num_stages)]
        # Merge strides 2, 2, 1: MobileSAM keeps the last merge at full resolution so that
        # the output stride is 16 rather than TinyViT's 32.
        merge_strides = (2, 2, 1)

        self.layers = nn.ModuleList()
        for i in range(num_stages):
            dim, stage_probs = embed_dims[i], probs[first[i]:first[i] + depths[i]]
            if i == 0:
                blocks = [MBConv(dim, mbconv_expand_ratio, p) for p in stage_probs]
            else:
                blocks = [
                    TinyViTBlock(dim, num_heads[i], window_sizes[i], mlp_ratio,
                                 local_conv_size, drop_rate, p) for p in stage_probs
                ]
            downsample = (
                PatchMerging(dim, embed_dims[i + 1], merge_strides[i])
                if i < num_stages - 1 else None)
            self.layers.append(
                _Stage(blocks, downsample, channels_last=i > 0, with_cp=with_cp))

        # MobileSAM's encoder started as an ImageNet TinyViT classifier, and its checkpoint
        # still holds that classifier's final LayerNorm and Linear. They are never used in
        # forward; they exist only so that the official weights load with strict=True, and
        # are frozen so that optimizers, weight decay and DDP's unused-parameter check
        # ignore them.
        self.norm_head = nn.LayerNorm(embed_dims[-1])
        self.head = nn.Linear(embed_dims[-1], num_classes) if num_classes > 0 else nn.Identity()

        self.neck = nn.Sequential(
            nn.Conv2d(embed_dims[-1], out_chans, kernel_size=1, bias=False),
            LayerNorm2d(out_chans, fused=False),
            nn.Conv2d(out_chans, out_chans, kernel_size=3, padding=1, bias=False),
            LayerNorm2d(out_chans, fused=False),
        )

        self._init_weights()
        for module in (self.norm_head, self.head):
            module.requires_grad_(False)

    def _init_weights(self) -> None:
        """TinyViT's initialisation: truncated-normal linear weights, zero biases.

        Convolutions keep PyTorch's default; BN and LayerNorm start at (1, 0), except the
        zero BN scale that ends each MBConv branch (set in :class:`MBConv`).
        """
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def train(self, mode: bool = True) -> TinyViT:
        """Set training mode, keeping BatchNorm layers in eval mode if ``norm_eval``."""
        super().train(mode)
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def forward_trunk(self, x: Tensor) -> Tensor:
        """Run everything before the neck.

        Args:
            x: Images of shape ``(B, in_chans, H, W)``, ``H`` and ``W`` multiples of 16.

        Returns:
            Features of shape ``(B, embed_dims[-1], H/16, W/16)``.

        Raises:
            ValueError: If ``x`` is not 4-D or ``H``/``W`` is not a multiple of 16.
        """
        return self.forward_stages(x)[-1]

    def forward_stages(self, x: Tensor, out_indices: Sequence[int] = ()) -> list[Tensor]:
        """Run the trunk and also return the outputs of the stages ``out_indices``.

        Stage ``i``'s output is taken after its blocks and before its merge, i.e. at the
        resolution the stage works at. For an input ``(B, in_chans, H, W)`` and the default
        widths: stage 0 ``(B, 64, H/4, W/4)`` (MBConv), stage 1 ``(B, 128, H/8, W/8)``,
        stage 2 ``(B, 160, H/16, W/16)``, stage 3 ``(B, 320, H/16, W/16)`` (the trunk
        output itself).

        Returns:
            ``[*stage_outputs, trunk_output]``, the stage outputs in ascending stage order.

        Raises:
            ValueError: If ``x`` is not 4-D or ``H``/``W`` is not a multiple of 16.
        """
        if x.ndim != 4:
            raise ValueError(f'TinyViT expects images of shape (B, C, H, W), '
                             f'got a tensor of shape {tuple(x.shape)}')
        height, width = x.shape[-2:]
        if height % OUTPUT_STRIDE or width % OUTPUT_STRIDE:
            def up(n: int) -> int:
                return -(-n // OUTPUT_STRIDE) * OUTPUT_STRIDE

            raise ValueError(
                f'TinyViT expects the input height and width to be multiples of '
                f'{OUTPUT_STRIDE} (its output stride), got {height}x{width} (HxW); '
                f'pad or resize the image, e.g. to {up(height)}x{up(width)}')
        wanted = set(out_indices)
        outputs = []
        x = self.patch_embed(x)
        for index, layer in enumerate(self.layers):
            x = layer.forward_blocks(x)
            if index in wanted:
                outputs.append(x)
            if layer.downsample is not None:
                x = layer.downsample(x)
        outputs.append(x)
        return outputs

    def forward(self, x: Tensor) -> Tensor:
        """Encode images.

        Args:
            x: Images of shape ``(B, in_chans, H, W)``, ``H`` and ``W`` multiples of 16.

        Returns:
            Image embeddings of shape ``(B, out_chans, H/16, W/16)``.
        """
        return self.neck(self.forward_trunk(x))
