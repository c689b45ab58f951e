# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
from .soft_dice_loss import SoftDiceLoss

__all__ = ['SoftDiceLoss']
