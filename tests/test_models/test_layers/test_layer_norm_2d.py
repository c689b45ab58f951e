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


def test_channel_projection_uses_this_one_and_tiny_vit_keeps_its_own():
    """ChannelProjection uses this class with SAM's eps. TinyViT's trainable neck keeps its
    unfused copy (same maths, eps and keys): the fused one changes training results, and the
    published MobileSAM numbers were made with the unfused one."""
    from mmseg_sam.models.backbones import tiny_vit
    from mmseg_sam.models.necks.channel_projection import ChannelProjection

    projection = ChannelProjection([8, 16], 4)
    norms = [p[1] for p in projection.projections]
    assert all(type(norm) is LayerNorm2d and norm.eps == 1e-6 for norm in norms), norms
    tiny = tiny_vit.TinyViT(embed_dims=(8, 16, 24, 320), depths=(1, 1, 1, 1),
                            num_heads=(1, 1, 1, 1), window_sizes=(7, 7, 7, 7), mlp_ratio=1.0,
                            out_chans=16)
    neck_norm = tiny.neck[1]
    assert type(neck_norm) is tiny_vit.LayerNorm2d and neck_norm.eps == 1e-6
    assert list(neck_norm.state_dict()) == ['weight', 'bias']
    x = torch.randn(2, 16, 5, 7)
    ours = LayerNorm2d(16, eps=1e-6)
    ours.load_state_dict(neck_norm.state_dict())
    torch.testing.assert_close(ours(x), neck_norm(x), atol=1e-5, rtol=1e-5)
