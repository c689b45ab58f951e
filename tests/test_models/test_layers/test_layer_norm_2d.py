# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
import pytest
import torch
from segment_anything.modeling.common import LayerNorm2d as OfficialLayerNorm2d

from mmseg_sam.models.layers import LayerNorm2d


@pytest.mark.parametrize('fused', [True, False])
def test_equal_to_segment_anything_forward_and_backward(fused):
    torch.manual_seed(0)
    official, ours = OfficialLayerNorm2d(16, eps=1e-6), LayerNorm2d(16, eps=1e-6, fused=fused)
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


def test_unfused_form_is_segment_anythings_arithmetic_bit_for_bit():
    """``fused=False`` runs SAM's own element-wise passes: identical bits, not just close
    (MobileSAM's neck relies on it for the published numbers)."""
    torch.manual_seed(0)
    official, ours = OfficialLayerNorm2d(16, eps=1e-6), LayerNorm2d(16, eps=1e-6, fused=False)
    with torch.no_grad():
        official.weight.normal_()
        official.bias.normal_()
    ours.load_state_dict(official.state_dict())
    x = torch.randn(2, 16, 9, 13) * 3 + 1
    assert torch.equal(ours(x), official(x))


@pytest.mark.parametrize('fused', [True, False])
def test_without_affine_it_has_no_parameters_and_is_the_default_at_unit_weights(fused):
    plain = LayerNorm2d(16, fused=fused, affine=False)
    assert list(plain.state_dict()) == [] and not list(plain.parameters())
    x = torch.randn(2, 16, 9, 13) * 3 + 1
    # The affine form at its initial weights (ones, zeros) computes the same.
    torch.testing.assert_close(plain(x), LayerNorm2d(16, fused=fused)(x))
    assert plain(x).mean(dim=1).abs().max() < 1e-5


def test_channel_projection_and_tiny_vit_use_this_one():
    """One LayerNorm2d: ChannelProjection takes the fused form with SAM's eps; TinyViT's
    trainable neck the unfused form (the fused one changes training results, and the
    published MobileSAM numbers were made with the unfused arithmetic)."""
    from mmseg_sam.models.backbones import tiny_vit
    from mmseg_sam.models.necks.channel_projection import ChannelProjection

    projection = ChannelProjection([8, 16], 4)
    norms = [p[1] for p in projection.projections]
    assert all(type(norm) is LayerNorm2d and norm.eps == 1e-6 and norm.fused
               for norm in norms), norms
    tiny = tiny_vit.TinyViT(embed_dims=(8, 16, 24, 320), depths=(1, 1, 1, 1),
                            num_heads=(1, 1, 1, 1), window_sizes=(7, 7, 7, 7), mlp_ratio=1.0,
                            out_chans=16)
    for neck_norm in (tiny.neck[1], tiny.neck[3]):
        assert type(neck_norm) is LayerNorm2d and neck_norm.eps == 1e-6 and not neck_norm.fused
        assert list(neck_norm.state_dict()) == ['weight', 'bias']
