# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""What the CPU can compute fast, for choices that depend on it (trunk precision, ``--amp``)."""
import torch

__all__ = ['cpu_has_native_bf16']


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 matmuls in hardware (AVX512-BF16 or AMX tiles).

    PyTorch exposes the probe only privately, so a PyTorch without it counts as "no".
    """
    if not torch.backends.mkldnn.is_available():  # the bf16 GEMMs are oneDNN's
        return False
    probes = [getattr(torch.cpu, name, None)
              for name in ('_is_avx512_bf16_supported', '_is_amx_tile_supported')]
    return any(probe is not None and probe() for probe in probes)
