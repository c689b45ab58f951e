# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""How :class:`SAMFrozenBackbone` runs its frozen trunk: numeric precision and attention.

The trunk never trains, so it can run in reduced precision under autocast without touching
the neck or the head, which keep float32. ``'auto'`` picks per device, at call time:

* CUDA: bfloat16 where the GPU supports it, else float16 (the tests hold bf16 on the CPU to
  cosine >= 0.999 against the official fp32 encoder; GPU numbers: see the README);
* CPU with bf16 instructions (x86 AVX512-BF16 or AMX, the oneDNN kernels PyTorch calls):
  bfloat16, 2.8x the official fp32 ViT-B encoder on a 2-core AMD EPYC (README "Encoder
  execution modes");
* any other CPU or device: float32, since without those instructions bf16 arithmetic is
  emulated and slower than fp32.
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


def resolve_trunk_precision(precision: str, device: torch.device) -> str:
    """The precision ``'auto'`` (or an explicit value) means on ``device``.

    Returns:
        One of :data:`TRUNK_PRECISIONS`' keys.
    """
    if precision != 'auto':
        return precision
    if device.type == 'cuda':
        return 'bf16' if torch.cuda.is_bf16_supported() else 'fp16'
    if device.type == 'cpu' and cpu_has_native_bf16():
        return 'bf16'
    return 'fp32'
