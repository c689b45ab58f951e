# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""What ``--amp`` means on the device training runs on: one place for the train tool and
``tools/analysis/benchmark.py``."""
import copy
import logging

import torch
from mmengine.logging import print_log

from ...utils.cpu_features import cpu_has_native_bf16

__all__ = ['mixed_precision_optim_wrapper']

#: Wrapper types ``--amp`` may replace: they differ from what it sets only in precision.
REPLACEABLE_WRAPPERS = ('OptimWrapper', 'AmpOptimWrapper', 'BF16AutocastOptimWrapper')


def mixed_precision_optim_wrapper(optim_wrapper: dict, on_gpu: bool) -> dict:
    """``optim_wrapper`` (a config dict) turned into its mixed-precision variant.

    On a GPU: MMEngine's ``AmpOptimWrapper`` (float16, dynamic loss scaling unless the config
    sets ``loss_scale``). Without one: :class:`BF16AutocastOptimWrapper`, since MMEngine's
    wrapper refuses the CPU and bfloat16 needs no loss scaling; the GPU-only keys
    (``loss_scale``, ``use_fsdp``) are dropped, and a float16 ``dtype`` is an error.

    Args:
        optim_wrapper: ``cfg.optim_wrapper``; not changed.
        on_gpu: whether training runs on a GPU (MMEngine uses one when it is visible).
    """
    wrapper = copy.deepcopy(dict(optim_wrapper))
    kind = wrapper.get('type', 'OptimWrapper')
    if kind not in REPLACEABLE_WRAPPERS:
        raise ValueError(f'--amp: optim_wrapper.type={kind!r} has no mixed-precision variant '
                         f'here; expected one of {list(REPLACEABLE_WRAPPERS)}. Fix: train '
                         f'without --amp, or set the precision inside that wrapper.')
    if on_gpu:
        wrapper['type'] = 'AmpOptimWrapper'
        wrapper.setdefault('loss_scale', 'dynamic')
        return wrapper
    dtype = wrapper.pop('dtype', None)
    if dtype not in (None, 'bfloat16', torch.bfloat16):
        raise ValueError(f'--amp without a GPU trains in bfloat16; optim_wrapper.dtype={dtype!r} '
                         f'is not available there. Fix: remove optim_wrapper.dtype.')
    for gpu_only in ('loss_scale', 'use_fsdp'):
        wrapper.pop(gpu_only, None)
    wrapper['type'] = 'BF16AutocastOptimWrapper'
    if not cpu_has_native_bf16():
        print_log('--amp: this CPU has no bf16 instructions (AVX512-BF16 / AMX); bfloat16 is '
                  'emulated there and trains slower than without --amp', logger='current',
                  level=logging.WARNING)
    return wrapper
