# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Soft Dice loss that is correct for one-logit binary heads and ignores ignored pixels."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import nn


@MODELS.register_module()
class SoftDiceLoss(nn.Module):
    """Soft Dice loss for class-imbalanced masks (thin vessels, small objects).

    MMSeg 1.2.2's ``DiceLoss`` one-hot encodes the label with as many channels as the logits
    have. For a binary head with one sigmoid logit that single channel is class 0, so the
    foreground probability is compared with the *background* mask; and pixels labelled
    ``ignore_index`` (e.g. padding) are clamped into a class. This loss avoids both:

    * one logit (B, 1, H, W): sigmoid, target = (label == 1);
    * C logits (B, C, H, W): softmax, one channel per class;
    * pixels equal to ``ignore_index`` are left out of every sum.

    Loss = 1 - mean over images and channels of (2 * |P * T| + eps) / (|P| + |T| + eps), where
    a channel absent from both prediction and target scores 1 (no penalty).

    Args:
        loss_weight: multiplier of the loss.
        eps: smoothing term.
        ignore_index: label value that is not scored.
        loss_name: name in the loss dict; must start with ``loss_`` to be optimised.
    """

    def __init__(self, loss_weight: float = 1.0, eps: float = 1.0, ignore_index: int = 255,
                 loss_name: str = 'loss_dice') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.eps = eps
        self.ignore_index = ignore_index
        self._loss_name = loss_name

    def forward(self, logits: torch.Tensor, label: torch.Tensor,
                weight: Optional[torch.Tensor] = None, ignore_index: Optional[int] = None,
                **kwargs) -> torch.Tensor:
        """Args: logits (B, C, H, W); label (B, H, W) integer class indices."""
        ignore = self.ignore_index if ignore_index is None else ignore_index
        valid = (label != ignore).unsqueeze(1).to(logits.dtype)  # (B, 1, H, W)
        safe_label = torch.where(label == ignore, torch.zeros_like(label), label)
        if logits.shape[1] == 1:
            probabilities = logits.sigmoid()
            target = (safe_label == 1).unsqueeze(1).to(logits.dtype)
        else:
            probabilities = logits.softmax(dim=1)
            target = F.one_hot(safe_label.long(), logits.shape[1]).permute(0, 3, 1, 2)
            target = target.to(logits.dtype)
        probabilities = probabilities * valid
        target = target * valid
        intersection = (probabilities * target).sum(dim=(2, 3))
        total = probabilities.sum(dim=(2, 3)) + target.sum(dim=(2, 3))
        dice = (2 * intersection + self.eps) / (total + self.eps)
        return self.loss_weight * (1 - dice.mean())

    @property
    def loss_name(self) -> str:
        return self._loss_name
