# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
from .bf16_autocast_optim_wrapper import BF16AutocastOptimWrapper
from .mixed_precision import mixed_precision_optim_wrapper

__all__ = ['BF16AutocastOptimWrapper', 'mixed_precision_optim_wrapper']
