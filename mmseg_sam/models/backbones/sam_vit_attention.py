# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""SAM ViT attention through ``F.scaled_dot_product_attention``, same parameters and maths.

SAM's official ``Attention`` materialises the (B * heads, N, N) score matrix, adds the
decomposed relative-position bias to it and takes a separate softmax: several passes over the
largest tensor of the encoder. Here the same bias (the MViTv2 decomposition of Li et al., 2022,
https://arxiv.org/abs/2112.01526, exactly as SAM computes it) is built once per call and
handed to PyTorch's fused attention as ``attn_mask``, which scales, adds, normalises and
multiplies by V in one kernel. The mask is an ordinary differentiable tensor, so gradients
reach ``rel_pos_h`` / ``rel_pos_w`` and the qkv / proj layers as in the official module
(adapters such as LoRA on ``qkv`` keep working).

:class:`SDPAttention` takes over the official module's ``qkv`` / ``proj`` sub-modules and
``rel_pos_*`` parameters as they are (no copy), under the same attribute names, so state-dict
keys and checkpoints are unchanged and a later wrapper of ``attn.qkv`` sees a plain module.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from segment_anything.modeling.image_encoder import Attention as OfficialAttention
from segment_anything.modeling.image_encoder import get_rel_pos
from torch import nn

__all__ = ['SDPAttention', 'decomposed_rel_pos_bias', 'use_sdpa_attention']


def decomposed_rel_pos_bias(q: torch.Tensor, rel_pos_h: torch.Tensor, rel_pos_w: torch.Tensor,
                            grid_hw: Tuple[int, int]) -> torch.Tensor:
    """SAM's decomposed relative-position bias as an additive attention mask.

    Equal to what ``segment_anything``'s ``add_decomposed_rel_pos`` adds to the scores: the
    unscaled query dotted with the height table and with the width table, broadcast over the
    key grid. Tables whose length does not fit the grid are interpolated as SAM does.

    Args:
        q: queries (B, heads, h * w, head_dim), not multiplied by the softmax scale.
        rel_pos_h: height table (L_h, head_dim); rel_pos_w: width table (L_w, head_dim).
        grid_hw: the token grid (h, w) of queries and keys (self-attention).

    Returns:
        (B, heads, h * w, h * w) in the dtype of ``q``.
    """
    height, width = grid_hw
    batch, heads, _, head_dim = q.shape
    table_h = get_rel_pos(height, height, rel_pos_h).to(q.dtype)  # (h, h, head_dim)
    table_w = get_rel_pos(width, width, rel_pos_w).to(q.dtype)  # (w, w, head_dim)
    grid_q = q.reshape(batch, heads, height, width, head_dim)
    bias_h = torch.einsum('bnhwc,hkc->bnhwk', grid_q, table_h)  # (B, heads, h, w, k_h)
    bias_w = torch.einsum('bnhwc,wkc->bnhwk', grid_q, table_w)  # (B, heads, h, w, k_w)
    bias = bias_h[..., :, None] + bias_w[..., None, :]  # (B, heads, h, w, k_h, k_w)
    return bias.reshape(batch, heads, height * width, height * width)


class SDPAttention(nn.Module):
    """Multi-head self-attention of a SAM ViT block, computed by fused attention.

    Built from an official ``segment_anything`` ``Attention`` with :meth:`from_official`;
    holds its ``qkv``, ``proj`` and, with relative positions, ``rel_pos_h`` / ``rel_pos_w``.

    Shape: (B, h, w, C) -> (B, h, w, C), channels last as in SAM's blocks (a window block
    passes its windows as the batch).
    """

    def __init__(self, qkv: nn.Module, proj: nn.Module, num_heads: int, scale: float,
                 rel_pos_h: Optional[nn.Parameter] = None,
                 rel_pos_w: Optional[nn.Parameter] = None) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = scale
        self.qkv = qkv
        self.proj = proj
        self.use_rel_pos = rel_pos_h is not None
        if self.use_rel_pos:
            self.rel_pos_h = rel_pos_h
            self.rel_pos_w = rel_pos_w

    @classmethod
    def from_official(cls, attention: OfficialAttention) -> 'SDPAttention':
        """Share ``attention``'s modules and parameters (the official module is not kept)."""
        use_rel_pos = attention.use_rel_pos
        return cls(attention.qkv, attention.proj, attention.num_heads, attention.scale,
                   attention.rel_pos_h if use_rel_pos else None,
                   attention.rel_pos_w if use_rel_pos else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, height, width, _ = x.shape
        tokens = height * width
        # Same layout as the official module: the qkv output is [all q | all k | all v].
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # each (B, heads, N, head_dim)
        bias = (decomposed_rel_pos_bias(q, self.rel_pos_h, self.rel_pos_w, (height, width))
                if self.use_rel_pos else None)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=self.scale)
        out = out.transpose(1, 2).reshape(batch, height, width, -1)  # (B, h, w, C)
        return self.proj(out)

    def extra_repr(self) -> str:
        return f'num_heads={self.num_heads}, use_rel_pos={self.use_rel_pos}'


def use_sdpa_attention(encoder: nn.Module) -> int:
    """Replace every official ``Attention`` in ``encoder``'s blocks by :class:`SDPAttention`.

    Parameters are shared, not copied: the state dict (keys, shapes, values) is unchanged.

    Returns:
        The number of attention modules replaced (blocks already converted are skipped).
    """
    replaced = 0
    for block in getattr(encoder, 'blocks', ()):
        if isinstance(block.attn, OfficialAttention):
            block.attn = SDPAttention.from_official(block.attn)
            replaced += 1
    return replaced
