# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
import pytest
import torch

from mmseg_sam.models.losses import SoftDiceLoss


def test_binary_one_logit_scores_the_foreground():
    label = torch.tensor([[[0, 1], [1, 255]]])
    confident_right = torch.tensor([[[[-20.0, 20.0], [20.0, -20.0]]]])
    confident_wrong = -confident_right
    loss = SoftDiceLoss(eps=1e-6)
    assert loss(confident_right, label).item() == pytest.approx(0.0, abs=1e-6)
    assert loss(confident_wrong, label).item() == pytest.approx(1.0, abs=1e-6)


def test_ignored_pixels_do_not_count():
    label = torch.tensor([[[1, 255]]])
    logits_a = torch.tensor([[[[20.0, 20.0]]]])
    logits_b = torch.tensor([[[[20.0, -20.0]]]])
    loss = SoftDiceLoss(eps=1e-6)
    assert loss(logits_a, label).item() == pytest.approx(loss(logits_b, label).item())


def test_multiclass_hand_computed():
    # Two pixels, 2 classes, softmax probabilities 0.5 everywhere (zero logits).
    label = torch.tensor([[[0, 1]]])
    logits = torch.zeros(1, 2, 1, 2)
    # Per class: intersection 0.5, |P| 1, |T| 1 -> dice = (1 + eps) / (2 + eps).
    expected = 1 - (1 + 1.0) / (2 + 1.0)
    assert SoftDiceLoss(eps=1.0)(logits, label).item() == pytest.approx(expected)


def test_gradient_flows_and_name():
    logits = torch.zeros(2, 1, 4, 4, requires_grad=True)
    SoftDiceLoss()(logits, torch.ones(2, 4, 4, dtype=torch.long)).backward()
    assert logits.grad.abs().sum() > 0
    assert SoftDiceLoss().loss_name == 'loss_dice'
