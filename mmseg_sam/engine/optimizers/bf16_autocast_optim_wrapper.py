# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Mixed-precision training by bfloat16 autocast alone, on any device (CPU included)."""
from contextlib import contextmanager
from typing import Iterator

import torch
from mmengine.optim import OptimWrapper
from mmseg.registry import OPTIM_WRAPPERS
from torch import nn

__all__ = ['BF16AutocastOptimWrapper']


@OPTIM_WRAPPERS.register_module()
class BF16AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward pass (loss included) runs under bfloat16 autocast.

    What ``--amp`` of ``tools/train.py`` selects when no GPU is visible. MMEngine's
    ``AmpOptimWrapper`` refuses the CPU, and its loss scaling exists for float16, whose
    narrow exponent range underflows small gradients; bfloat16 keeps float32's range, so
    this wrapper scales nothing and steps like ``OptimWrapper``.

    Autocast computes matmuls and convolutions in bfloat16 and keeps reductions such as the
    losses in float32; parameters, gradients and optimiser state stay float32. On a CPU with
    bf16 instructions (AVX512-BF16, AMX) the head step gets faster (README "Encoder execution
    modes and head speed"); on other CPUs bf16 is emulated and slower. The frozen trunk is not
    affected: it runs in its own ``trunk_precision`` whatever the outer autocast says.
    """

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """Gradient-accumulation context of ``OptimWrapper`` plus bf16 autocast on the
        device of ``model``'s parameters."""
        device_type = next(model.parameters()).device.type
        with super().optim_context(model), \
                torch.autocast(device_type=device_type, dtype=torch.bfloat16):
            yield
