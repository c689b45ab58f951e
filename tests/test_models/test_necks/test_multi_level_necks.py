# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""ChannelProjection and SequentialNeck, alone and as SAM-to-UPerHead glue."""
import pytest
import torch
from helpers import TINY_VIT_ARCH
from mmseg.registry import MODELS
from torch import nn

import mmseg_sam  # noqa: F401
from mmseg_sam.models.necks import ChannelProjection, SequentialNeck


@pytest.fixture(autouse=True, scope='module')
def one_torch_thread():
    """Run this module's models on one thread: the CPUs are shared with other jobs, and two
    torch threads competing with them were measured ~40x slower on small convolutions."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def levels(widths, size=(4, 6), batch=2):
    return tuple(torch.randn(batch, c, *size) for c in widths)


@pytest.mark.parametrize('norm_cfg', [None, dict(type='LN2d'), dict(type='BN')])
def test_projection_maps_every_level_to_out_channels(norm_cfg):
    neck = ChannelProjection([24, 24, 8], out_channels=16, norm_cfg=norm_cfg)
    outputs = neck(levels([24, 24, 8]))
    assert [tuple(o.shape) for o in outputs] == [(2, 16, 4, 6)] * 3
    # A norm replaces the conv bias; without one the conv keeps it.
    assert (neck.projections[0][0].bias is None) == (norm_cfg is not None)
    if norm_cfg == dict(type='LN2d'):
        # SAM's LayerNorm2d: per pixel, zero mean over channels (weight 1, bias 0 at init).
        assert torch.allclose(outputs[2].mean(dim=1), torch.zeros(2, 4, 6), atol=1e-5)


def test_projection_errors_name_the_mismatch():
    neck = ChannelProjection([24, 8], out_channels=16)
    with pytest.raises(ValueError, match=r'got 3 levels .* lists 2'):
        neck(levels([24, 8, 8]))
    with pytest.raises(ValueError, match=r'levels of \[8, 8\] channels, expected '
                                         r'in_channels=\[24, 8\]'):
        neck(levels([8, 8]))
    with pytest.raises(ValueError, match='in_channels must be a non-empty list'):
        ChannelProjection(24, out_channels=16)
    with pytest.raises(ValueError, match='out_channels must be a positive int'):
        ChannelProjection([24], out_channels=0)


def test_sequential_neck_chains_projection_and_feature2pyramid():
    neck = MODELS.build(dict(
        type='SequentialNeck',
        necks=[dict(type='ChannelProjection', in_channels=[24, 24, 24, 8], out_channels=16),
               dict(type='Feature2Pyramid', embed_dim=16, rescales=[4, 2, 1, 0.5],
                    norm_cfg=dict(type='BN', requires_grad=True))]))
    assert isinstance(neck, SequentialNeck) and len(neck.necks) == 2
    outputs = neck(levels([24, 24, 24, 8]))
    assert [tuple(o.shape[-2:]) for o in outputs] == [(16, 24), (8, 12), (4, 6), (2, 3)]
    assert {o.shape[1] for o in outputs} == {16}
    with pytest.raises(ValueError, match='non-empty list of neck configs'):
        SequentialNeck(necks=dict(type='ChannelProjection'))
    assert isinstance(SequentialNeck([nn.Identity()]).necks[0], nn.Identity)


def test_sam_block_outputs_reach_uperhead_through_the_necks():
    """The wiring of the multi-level mix-in config, with a tiny SAM ViT."""
    arch = dict(TINY_VIT_ARCH, depth=4, global_attn_indexes=(1, 3))
    model = MODELS.build(dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', size=(64, 64)),
        backbone=dict(type='SAMFrozenBackbone', arch=arch, img_size=64, out_indices=(0, 1, 2)),
        neck=dict(type='SequentialNeck', necks=[
            dict(type='ChannelProjection', in_channels=[32, 32, 32, 256], out_channels=16),
            dict(type='Feature2Pyramid', embed_dim=16, norm_cfg=dict(type='BN'))]),
        decode_head=dict(type='UPerHead', in_channels=[16] * 4, in_index=[0, 1, 2, 3],
                         channels=16, pool_scales=(1, 2), num_classes=2, out_channels=1,
                         threshold=0.5, norm_cfg=dict(type='BN'),
                         loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True))))
    features = model.extract_feat(torch.randn(2, 3, 64, 64))
    # Strides 4, 8, 16, 32 of a 64-pixel input.
    assert [tuple(f.shape[-2:]) for f in features] == [(16, 16), (8, 8), (4, 4), (2, 2)]
    logits = model.encode_decode(torch.randn(2, 3, 64, 64), [dict(img_shape=(64, 64))] * 2)
    assert logits.shape == (2, 1, 64, 64)
