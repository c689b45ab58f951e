# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""How :class:`SAMFrozenBackbone` runs its frozen trunk: numeric precision and attention.

The trunk never trains, so it can run in reduced precision under autocast without touching
the neck or the head, which keep float32. ``'auto'`` aims at the fastest precision that is exact
enough (thresholded masks of a trained model equal to fp32's on >= 99.9% of the pixels), per
arch family and device, at call time:

* SAM ViT on CUDA: bfloat16 where the GPU supports it, else float16;
* SAM ViT on a CPU with bf16 instructions (x86 AVX512-BF16 or AMX, which PyTorch's oneDNN
  kernels use): bfloat16, 2.8-3.7x the official fp32 ViT-B encoder on a 2-core AMD EPYC (README
  "Encoder execution modes"). Its transformer blocks add every bf16 matmul output to a float32
  residual stream, and the trunk output stays within cosine 0.99999 of fp32 (seeded random
  weights: the mask agreement of a trained ViT model is not measured yet);
* MobileSAM's TinyViT: float16 on CUDA, float32 elsewhere. Its convolution stages carry their
  whole stream in the autocast dtype, and bfloat16's 8-bit mantissa then moves object edges:
  the two trained STARE models of the README's demo table kept equal masks on only 99.80% and
  99.86% of the test pixels with a bf16 trunk, against 99.98% with float16. CPUs compute
  float16 in software, far slower than fp32;
* anything else: float32 (without bf16 instructions a CPU emulates bf16, slower than fp32).
"""
from typing import Dict, Optional

import torch

from ...utils.cpu_features import cpu_has_native_bf16

__all__ = ['TRUNK_ATTENTIONS', 'TRUNK_PRECISIONS', 'check_trunk_options',
           'resolve_trunk_precision']

#: ``trunk_precision`` values and the autocast dtype of each (None: no autocast).
TRUNK_PRECISIONS: Dict[str, Optional[torch.dtype]] = {
    'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}

#: ``trunk_attention`` values: fused attention with the exact bias, or SAM's own module.
TRUNK_ATTENTIONS = ('sdpa', 'official')


def check_trunk_options(precision: str, attention: str, arch_family: str) -> None:
    """Refuse unknown values with the accepted ones, before anything is built."""
    if precision != 'auto' and precision not in TRUNK_PRECISIONS:
        raise ValueError(f"trunk_precision={precision!r} is unknown; expected 'auto' or one "
                         f'of {sorted(TRUNK_PRECISIONS)}')
    if attention not in TRUNK_ATTENTIONS:
        raise ValueError(f'trunk_attention={attention!r} is unknown; expected one of '
                         f'{list(TRUNK_ATTENTIONS)}')
    if attention == 'official' and arch_family != 'vit':
        # TinyViT has no separate official module here: its attention already is SDPA with
        # the learned bias as mask, tested against MobileSAM's explicit softmax.
        raise ValueError("trunk_attention='official' applies to SAM ViT archs only; "
                         "MobileSAM's TinyViT always uses 'sdpa'")


def resolve_trunk_precision(precision: str, device: torch.device, arch_family: str) -> str:
    """The precision ``'auto'`` (or an explicit value) means for ``arch_family`` on ``device``.

    Args:
        precision: 'auto' or one of :data:`TRUNK_PRECISIONS`' keys.
        device: where the trunk runs.
        arch_family: 'vit' (SAM) or 'tiny_vit' (MobileSAM), see ``encoder_archs``.

    Returns:
        One of :data:`TRUNK_PRECISIONS`' keys.
    """
    if precision != 'auto':
        return precision
    if arch_family == 'tiny_vit':
        return 'fp16' if device.type == 'cuda' else 'fp32'
    if device.type == 'cuda':
        return 'bf16' if torch.cuda.is_bf16_supported() else 'fp16'
    if device.type == 'cpu' and cpu_has_native_bf16():
        return 'bf16'
    return 'fp32'
