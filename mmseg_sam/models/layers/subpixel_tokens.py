# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""ConvTranspose2d(k2, s2) + LayerNorm + ReLU + Dropout stacks computed as per-pixel matmuls.

A transposed convolution with kernel 2 and stride 2 has no overlap: input pixel (i, j) alone
makes output pixels (2i + di, 2j + dj), ``out[:, :, 2i+di, 2j+dj] = W[:, :, di, dj]^T x[:, :, i,
j] + b``. LayerNorm over channels, ReLU, element-wise dropout and a 1x1 classifier are per
pixel too. So a stack of such blocks is an MLP applied to each input pixel independently, and
the spatial order of the sub-pixels only matters for the final logits.

Here every block is one matmul on a (tokens, C) matrix whose rows stay in *sub-pixel order*
(B, h, w, di_1, dj_1, ..., di_k, dj_k) and the logits alone are put back into image order at
the end. Compared with running the modules (deconvolution in NCHW, LayerNorm through a
channels-last view, ReLU in place on that view, dropout), this removes every layout copy of
the full-resolution tensors forward and backward and the copy-on-write of the in-place ReLU
on a view, and backward becomes plain GEMMs.

Results equal the modules' up to float rounding of the matmuls (GEMM instead of the
deconvolution kernel): the dropout masks are drawn in the same order as ``nn.Dropout`` draws
them for the modules' channels-last tensors, so with the same seed the same elements drop.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ['SubpixelBlockParams', 'subpixel_forward']

#: One block: (ConvTranspose2d, LayerNorm2d, dropout probability or 0).
SubpixelBlockParams = Tuple[nn.ConvTranspose2d, nn.LayerNorm, float]


def _image_order(tokens: torch.Tensor, batch: int, grid_hw: Tuple[int, int], levels: int,
                 channels: int) -> torch.Tensor:
    """(B*h*w*4^k, C) rows in sub-pixel order -> (B, C, h*2^k, w*2^k) image."""
    height, width = grid_hw
    # dims: B, h, w, (di_1, dj_1), ..., (di_k, dj_k), C
    split = tokens.view(batch, height, width, *([2, 2] * levels), channels)
    rows = [3 + 2 * level for level in range(levels)]
    cols = [4 + 2 * level for level in range(levels)]
    ordered = split.permute(0, 3 + 2 * levels, 1, *rows, 2, *cols)
    return ordered.reshape(batch, channels, height << levels, width << levels)


def _dropout_noise(batch: int, grid_hw: Tuple[int, int], levels: int, channels: int,
                   prob: float, like: torch.Tensor) -> torch.Tensor:
    """Scaled keep-mask for dropout, in sub-pixel row order, as ``nn.Dropout`` draws it.

    ``nn.Dropout`` on the modules' (channels-last) tensors draws one Bernoulli number per
    element in (B, H, W, C) memory order; drawing the same (B, H, W, C) tensor and reordering
    it gives the identical mask.
    """
    height, width = grid_hw
    noise = torch.empty(batch, height << levels, width << levels, channels,
                        dtype=like.dtype, device=like.device).bernoulli_(1 - prob)
    noise.div_(1 - prob)
    split = noise.view(batch, height, *([2] * levels), width, *([2] * levels), channels)
    order = [0, 1, 2 + levels]
    for level in range(levels):
        order += [2 + level, 3 + levels + level]
    return split.permute(*order, 3 + 2 * levels).reshape(-1, channels)


def subpixel_forward(features: torch.Tensor, blocks: Sequence[SubpixelBlockParams],
                     classifier: Optional[nn.Conv2d], training: bool) -> torch.Tensor:
    """Run ConvTranspose(k2, s2) + LayerNorm + ReLU [+ Dropout] blocks and a 1x1 classifier.

    Args:
        features: (B, C_in, h, w).
        blocks: per block its ConvTranspose2d (kernel 2, stride 2, no padding), its
            LayerNorm over channels and its dropout probability (0 = none).
        classifier: 1x1 ``nn.Conv2d`` applied last, or None.
        training: apply dropout.

    Returns:
        (B, C_out, h * 2**N, w * 2**N) for N blocks, C_out of the classifier (else of the
        last block).
    """
    batch, _, height, width = features.shape
    tokens = features.permute(0, 2, 3, 1).reshape(batch * height * width, -1)
    for level, (deconv, norm, prob) in enumerate(blocks):
        out_channels = deconv.out_channels
        # (C_in, C_out, 2, 2) -> rows (di, dj, C_out): each token becomes 4 sub-pixel tokens.
        weight = deconv.weight.permute(2, 3, 1, 0).reshape(4 * out_channels, -1)
        bias = deconv.bias.repeat(4) if deconv.bias is not None else None
        tokens = F.linear(tokens, weight, bias).view(-1, out_channels)
        tokens = F.layer_norm(tokens, norm.normalized_shape, norm.weight, norm.bias, norm.eps)
        tokens = F.relu(tokens, inplace=True)  # layer_norm's backward does not need its output
        if training and prob > 0:
            tokens = tokens * _dropout_noise(batch, (height, width), level + 1, out_channels,
                                             prob, tokens)
    channels = tokens.shape[-1]
    if classifier is not None:
        tokens = F.linear(tokens, classifier.weight.flatten(1), classifier.bias)
        channels = classifier.out_channels
    return _image_order(tokens, batch, (height, width), len(blocks), channels)
