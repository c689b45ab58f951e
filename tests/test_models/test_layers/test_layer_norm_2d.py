# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
import torch
from segment_anything.modeling.common import LayerNorm2d as OfficialLayerNorm2d

from mmseg_sam.models.layers import LayerNorm2d


def test_equal_to_segment_anything_forward_and_backward():
    torch.manual_seed(0)
    official, ours = OfficialLayerNorm2d(16, eps=1e-6), LayerNorm2d(16, eps=1e-6)
    with torch.no_grad():
        official.weight.normal_()
        official.bias.normal_()
    ours.load_state_dict(official.state_dict())  # same keys and shapes
    x = (torch.randn(2, 16, 9, 13) * 3 + 1).requires_grad_()
    x_ours = x.detach().clone().requires_grad_()
    expected, observed = official(x), ours(x_ours)
    torch.testing.assert_close(observed, expected, atol=1e-5, rtol=1e-5)
    gradient = torch.randn_like(expected)
    expected.backward(gradient)
    observed.backward(gradient)
    torch.testing.assert_close(x_ours.grad, x.grad, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(ours.weight.grad, official.weight.grad, atol=1e-4, rtol=1e-4)
