# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""The image-encoder architectures that :class:`SAMFrozenBackbone` can build.

SAM's ViT sizes follow ``segment_anything.build_sam`` (Kirillov et al., 2023,
https://arxiv.org/abs/2304.02643); ``vit_t`` is MobileSAM's TinyViT (Zhang et al., 2023,
https://arxiv.org/abs/2306.14289). Every encoder maps (B, 3, H, W) to (B, 256, H/16, W/16)
through a trunk followed by a ``neck`` attribute, which is what the backbone trains.
"""
from functools import partial
from typing import Any, Dict, Tuple, Union

import torch
from segment_anything.modeling import ImageEncoderViT
from torch import nn

#: Settings shared by all of SAM's ViT encoders.
SAM_VIT_COMMON: Dict[str, Any] = dict(
    patch_size=16, mlp_ratio=4.0, out_chans=256, qkv_bias=True, use_rel_pos=True,
    window_size=14)

#: SAM's ViT sizes. ``global_attn_indexes`` are the blocks with full (non-window) attention.
SAM_VIT_ARCHS: Dict[str, Dict[str, Any]] = {
    'vit_b': dict(embed_dim=768, depth=12, num_heads=12, global_attn_indexes=(2, 5, 8, 11)),
    'vit_l': dict(embed_dim=1024, depth=24, num_heads=16, global_attn_indexes=(5, 11, 17, 23)),
    'vit_h': dict(embed_dim=1280, depth=32, num_heads=16, global_attn_indexes=(7, 15, 23, 31)),
}

#: Architectures whose trunk is MobileSAM's TinyViT.
TINY_VIT_ARCHS: Dict[str, Dict[str, Any]] = {'vit_t': dict()}

#: Keys a custom ViT arch dict must give (the rest default to :data:`SAM_VIT_COMMON`).
REQUIRED_VIT_KEYS = ('embed_dim', 'depth', 'num_heads', 'global_attn_indexes')

ImageSize = Union[int, Tuple[int, int]]


def as_hw(img_size: ImageSize, name: str = 'img_size') -> Tuple[int, int]:
    """Normalise an image size to ``(H, W)`` and check it is a positive multiple of 16."""
    if isinstance(img_size, int):
        height, width = img_size, img_size
    elif (isinstance(img_size, (tuple, list)) and len(img_size) == 2
          and all(isinstance(v, int) for v in img_size)):
        height, width = img_size
    else:
        raise TypeError(f'{name} must be an int or a (height, width) pair of ints, '
                        f'got {img_size!r}')
    if height <= 0 or width <= 0 or height % 16 or width % 16:
        raise ValueError(f'{name}={img_size!r}: both sides must be positive multiples of 16 '
                         f'(the encoders patchify by 16), e.g. 1024 or (576, 1024)')
    return height, width


def resolve_arch(arch: Union[str, Dict[str, Any]]) -> Tuple[str, Dict[str, Any]]:
    """Turn ``arch`` into ``(family, settings)`` with family ``'vit'`` or ``'tiny_vit'``.

    Args:
        arch: a name from :data:`SAM_VIT_ARCHS` / :data:`TINY_VIT_ARCHS`, or a dict. A dict
            with ``type='tiny_vit'`` passes its other keys to ``TinyViT``; any other dict is a
            custom SAM ViT and must hold :data:`REQUIRED_VIT_KEYS` (tests use tiny ones).
    """
    if isinstance(arch, str):
        if arch in SAM_VIT_ARCHS:
            return 'vit', {**SAM_VIT_COMMON, **SAM_VIT_ARCHS[arch]}
        if arch in TINY_VIT_ARCHS:
            return 'tiny_vit', dict(TINY_VIT_ARCHS[arch])
        known = sorted(SAM_VIT_ARCHS) + sorted(TINY_VIT_ARCHS)
        raise ValueError(f'arch={arch!r} is unknown; expected one of {known} or a dict')
    if not isinstance(arch, dict):
        raise TypeError(f'arch must be a name or a dict, got {type(arch).__name__}')
    settings = dict(arch)
    family = settings.pop('type', 'vit')
    if family == 'tiny_vit':
        return family, settings
    if family != 'vit':
        raise ValueError(f"arch['type']={family!r} is unknown; expected 'vit' or 'tiny_vit'")
    missing = [key for key in REQUIRED_VIT_KEYS if key not in settings]
    if missing:
        raise ValueError(f'custom ViT arch is missing {missing}; required: '
                         f'{list(REQUIRED_VIT_KEYS)}, got {sorted(settings)}')
    if any(not 0 <= i < settings['depth'] for i in settings['global_attn_indexes']):
        raise ValueError(f"arch global_attn_indexes {settings['global_attn_indexes']} must lie "
                         f"in [0, depth={settings['depth']})")
    return 'vit', {**SAM_VIT_COMMON, **settings}


def build_image_encoder(arch: Union[str, Dict[str, Any]], img_size: ImageSize) -> nn.Module:
    """Build a randomly initialised image encoder for input size ``img_size``.

    Returns:
        ``segment_anything``'s ``ImageEncoderViT`` (family ``vit``) or our ``TinyViT``. For a
        non-square ``img_size`` the ViT's position tables are re-shaped to the token grid.
    """
    family, settings = resolve_arch(arch)
    height, width = as_hw(img_size)
    if family == 'tiny_vit':
        from .tiny_vit import TinyViT
        return TinyViT(img_size=(height, width), **settings)
    encoder = ImageEncoderViT(
        img_size=height, norm_layer=partial(nn.LayerNorm, eps=1e-6),
        global_attn_indexes=tuple(settings.pop('global_attn_indexes')), **settings)
    if height != width:
        reshape_vit_position_tables(encoder, (height // 16, width // 16))
    return encoder


def reshape_vit_position_tables(encoder: ImageEncoderViT, grid_hw: Tuple[int, int]) -> None:
    """Give a SAM ViT position tables for a ``grid_hw`` token grid (values re-initialised).

    ``pos_embed`` becomes (1, h, w, C); each global-attention block's ``rel_pos_h`` /
    ``rel_pos_w`` become (2h-1, head_dim) / (2w-1, head_dim). Window blocks are untouched:
    their tables depend on the window size only. Pretrained values are filled in later by
    the checkpoint loader, which resizes them to these shapes.
    """
    grid_h, grid_w = grid_hw
    if encoder.pos_embed is not None:
        channels = encoder.pos_embed.shape[-1]
        encoder.pos_embed = nn.Parameter(torch.zeros(1, grid_h, grid_w, channels))
    for block in encoder.blocks:
        attention = block.attn
        if block.window_size == 0 and getattr(attention, 'use_rel_pos', False):
            head_dim = attention.rel_pos_h.shape[1]
            attention.rel_pos_h = nn.Parameter(torch.zeros(2 * grid_h - 1, head_dim))
            attention.rel_pos_w = nn.Parameter(torch.zeros(2 * grid_w - 1, head_dim))
