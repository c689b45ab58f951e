# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""SDPAttention against segment_anything's official ImageEncoderViT, with the same weights."""
import copy
from functools import partial

import pytest
import torch
from segment_anything.modeling import ImageEncoderViT
from segment_anything.modeling.image_encoder import Attention as OfficialAttention
from torch import nn

from mmseg_sam.models.backbones.sam_vit_attention import SDPAttention, use_sdpa_attention


def official_encoder(img_size: int = 80, window_size: int = 3) -> ImageEncoderViT:
    """Three blocks (window, global, window); 80 px = 5x5 tokens, so 3x3 windows pad."""
    torch.manual_seed(0)
    encoder = ImageEncoderViT(
        img_size=img_size, patch_size=16, embed_dim=32, depth=3, num_heads=2, mlp_ratio=2.0,
        out_chans=32, qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6),
        use_rel_pos=True, window_size=window_size, global_attn_indexes=(1,))
    with torch.no_grad():
        for parameter in encoder.parameters():  # rel-pos tables start at zero in SAM
            parameter.normal_(0, 0.2)
    return encoder.eval()


@pytest.fixture(scope='module')
def pair():
    official = official_encoder()
    ours = copy.deepcopy(official)
    assert use_sdpa_attention(ours) == 3
    return official, ours


@pytest.mark.parametrize('size', [(80, 80), (96, 48)])
def test_forward_matches_official_in_fp32(pair, size):
    # (96, 48) differs from img_size: the global block interpolates its rel-pos tables and
    # the window blocks pad a 6x3 grid. The official forward cannot resize pos_embed (our
    # backbone does), so both leave it out there.
    official, ours = pair
    if size != (80, 80):
        official, ours = copy.deepcopy(official), copy.deepcopy(ours)
        official.pos_embed = ours.pos_embed = None
    x = torch.randn(2, 3, *size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, actual = official(x), ours(x)
    assert expected.abs().max() > 0.1
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=0)


def test_gradients_match_official(pair):
    # The bias is an ordinary tensor, so rel-pos tables and qkv get the official gradients.
    official, ours = copy.deepcopy(pair[0]), copy.deepcopy(pair[1])
    x = torch.randn(1, 3, 80, 80, generator=torch.Generator().manual_seed(2))
    official(x).square().mean().backward()
    ours(x).square().mean().backward()
    checked = 0
    for (name, expected), (_, actual) in zip(official.named_parameters(),
                                             ours.named_parameters()):
        if 'attn' in name:
            assert actual.grad is not None and actual.grad.abs().max() > 0, name
            torch.testing.assert_close(actual.grad, expected.grad, atol=1e-5, rtol=1e-4)
            checked += 1
    assert checked == 3 * 6  # qkv.{weight,bias}, proj.{weight,bias}, rel_pos_{h,w}


def test_state_dict_is_unchanged_and_parameters_are_shared():
    official = official_encoder()
    keys = {name: tensor.clone() for name, tensor in official.state_dict().items()}
    table = official.blocks[1].attn.rel_pos_h
    use_sdpa_attention(official)
    assert isinstance(official.blocks[1].attn, SDPAttention)
    assert official.blocks[1].attn.rel_pos_h is table
    state = official.state_dict()
    assert list(state) == list(keys)
    assert all(torch.equal(state[name], value) for name, value in keys.items())
    assert use_sdpa_attention(official) == 0  # already converted


def test_qkv_and_proj_are_called_as_modules():
    # An adapter that wraps attn.qkv (LoRA) must see its forward called.
    class Counting(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner, self.calls = inner, 0

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.calls += 1
            return self.inner(x)

    encoder = official_encoder()
    attention = encoder.blocks[1].attn
    assert isinstance(attention, OfficialAttention)
    fast = SDPAttention.from_official(attention)
    fast.qkv, fast.proj = Counting(fast.qkv), Counting(fast.proj)
    fast(torch.randn(1, 5, 5, 32))
    assert (fast.qkv.calls, fast.proj.calls) == (1, 1)
