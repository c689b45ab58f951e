# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Tests for MobileSAM's TinyViT encoder, with parity against the original implementation.

The reference is MobileSAM's own ``tiny_vit_sam.py`` as shipped by the PyPI package
``mobilesam-mirror`` (import name ``mobile_sam``); the tests that need it are skipped when it
is not installed. All models are randomly initialised, no weights are downloaded.
"""
import warnings

import pytest
import torch

from mmseg_sam.models.backbones.tiny_vit import TinyViT

# Small enough for a CPU test, but still four stages with padded windows. The last width
# must stay 320: the reference decides that a merge keeps the resolution from its output
# width (320, 448 or 576), not from its position.
TINY = dict(
    embed_dims=(16, 32, 48, 320),
    depths=(1, 2, 2, 1),
    num_heads=(1, 2, 3, 4),
    window_sizes=(7, 7, 14, 7),
    mlp_ratio=2.0,
)


@pytest.fixture(scope='module')
def ref_tiny_vit():
    """MobileSAM's reference module, or skip if its package is missing."""
    with warnings.catch_warnings():
        # Importing it re-registers TinyViT names in timm's registry (UserWarning) and uses
        # timm's deprecated ``timm.models.layers`` path (FutureWarning).
        warnings.simplefilter('ignore')
        return pytest.importorskip(
            'mobile_sam.modeling.tiny_vit_sam',
            reason='reference needs `pip install mobilesam-mirror==1.0.0`')


def randomize_(model: torch.nn.Module, seed: int = 0) -> None:
    """Overwrite every float parameter and buffer with random values, in place.

    The default initialisation leaves zeros and ones (attention biases, BN scales of
    MBConv branches, norms, running stats) that would hide wrong key mappings.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            noise = torch.randn(tensor.shape, generator=gen)
            if name.endswith('running_var'):
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
            elif name.endswith('attention_biases'):
                tensor.copy_(noise)
            elif tensor.ndim == 1:  # norm scales/shifts, biases, running means
                base = 1.0 if name.endswith('weight') else 0.0
                tensor.copy_(base + 0.2 * noise)
            else:
                tensor.add_(0.02 * noise)


def build_pair(ref_module, img_size):
    """A random reference TinyViT and ours with the same weights, both in eval mode."""
    torch.manual_seed(0)
    ref = ref_module.TinyViT(img_size=img_size, in_chans=3, num_classes=1000,
                             drop_path_rate=0.0, **TINY)
    randomize_(ref)
    # The reference caches its gathered attention bias when switched to eval mode, so the
    # weights must be final before this call.
    ref.eval()
    ours = TinyViT(**TINY)
    ours.load_state_dict(ref.state_dict(), strict=True)
    ours.eval()
    return ref, ours


@pytest.mark.slow  # about 2 s on an idle 2-core CPU: 64x64 grid, 320/256-channel layers
def test_square_matches_reference_forward(ref_tiny_vit):
    # 1024x1024 is the only size whose 64x64 token grid the reference's forward accepts.
    ref, ours = build_pair(ref_tiny_vit, img_size=1024)
    x = torch.randn(1, 3, 1024, 1024, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = ref(x)
        actual = ours(x)
    assert actual.shape == (1, 256, 64, 64)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=0)


def ref_trunk(ref, x):
    """The reference's forward up to the neck, with the token grid taken from ``x``.

    Its own forward reshapes to a hard-coded 64x64 grid, so for sizes other than 1024x1024
    its trunk (built for that size) is run here and reshaped the same way.
    """
    tokens = ref.patch_embed(x)
    for layer in ref.layers:
        tokens = layer(tokens)
    grid = (x.shape[2] // 16, x.shape[3] // 16)
    return tokens.view(x.shape[0], *grid, -1).permute(0, 3, 1, 2)


def ref_stage_outputs(ref, x):
    """Each reference stage's output after its blocks, before its merge, as (B, C, h, w).

    Stage 0 (convolutional) works on (B, C, h, w); the attention stages on (B, h * w, C)
    tokens at the stage's fixed resolution.
    """
    outputs = []
    tokens = ref.patch_embed(x)
    for index, layer in enumerate(ref.layers):
        for block in layer.blocks:
            tokens = block(tokens)
        if index == 0:
            outputs.append(tokens)
        else:
            height, width = layer.input_resolution
            outputs.append(tokens.view(x.shape[0], height, width, -1).permute(0, 3, 1, 2))
        if layer.downsample is not None:
            tokens = layer.downsample(tokens)
    return outputs


def test_stage_outputs_match_reference(ref_tiny_vit):
    # The multi-scale features a detail-preserving head fuses: strides 4, 8, 16, 16.
    ref, ours = build_pair(ref_tiny_vit, img_size=(224, 160))
    x = torch.randn(2, 3, 224, 160, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = ref_stage_outputs(ref, x)
        actual = ours.forward_stages(x, out_indices=(0, 1, 2, 3))
        trunk_only = ours.forward_trunk(x)
    widths = TINY['embed_dims']
    shapes = [(2, widths[0], 56, 40), (2, widths[1], 28, 20), (2, widths[2], 14, 10),
              (2, widths[3], 14, 10), (2, widths[3], 14, 10)]
    assert [tuple(t.shape) for t in actual] == shapes
    for ours_stage, ref_stage in zip(actual[:4], expected):
        torch.testing.assert_close(ours_stage, ref_stage, atol=1e-5, rtol=0)
    # Asking for stage outputs does not change the trunk output (bit for bit).
    assert torch.equal(actual[-1], trunk_only)
    assert torch.equal(actual[3], trunk_only)


@pytest.mark.parametrize('hw', [(224, 160), (224, 224)])
def test_non_square_matches_reference(ref_tiny_vit, hw):
    # 224x160 pads windows on one axis in every attention stage; 224x224 hits the
    # reference's separate path for a map that is exactly one 14x14 window.
    height, width = hw
    ref, ours = build_pair(ref_tiny_vit, img_size=hw)
    x = torch.randn(2, 3, height, width, generator=torch.Generator().manual_seed(2))
    grid = (height // 16, width // 16)
    with torch.no_grad():
        expected_trunk = ref_trunk(ref, x)
        expected = ref.neck(expected_trunk)
        trunk = ours.forward_trunk(x)
        actual = ours(x)
    assert trunk.shape == (2, 320, *grid)
    assert actual.shape == (2, 256, *grid)
    torch.testing.assert_close(trunk, expected_trunk, atol=1e-5, rtol=0)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=0)


def test_training_mode_matches_reference(ref_tiny_vit):
    # Batch statistics in BatchNorm, the un-cached bias path of the reference, and gradients.
    ref, ours = build_pair(ref_tiny_vit, img_size=(224, 160))
    ref.train()
    ours.train()
    x = torch.randn(2, 3, 224, 160, generator=torch.Generator().manual_seed(3))
    x_ref, x_ours = x.clone().requires_grad_(), x.clone().requires_grad_()
    expected = ref.neck(ref_trunk(ref, x_ref))
    actual = ours(x_ours)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=0)
    expected.square().mean().backward()
    actual.square().mean().backward()
    torch.testing.assert_close(x_ours.grad, x_ref.grad, atol=1e-8, rtol=1e-4)
    ref_grads = {n: p.grad for n, p in ref.named_parameters() if p.grad is not None}
    our_grads = {n: p.grad for n, p in ours.named_parameters() if p.grad is not None}
    assert our_grads.keys() == ref_grads.keys()
    for name, grad in ref_grads.items():
        torch.testing.assert_close(our_grads[name], grad, atol=1e-6, rtol=1e-4, msg=name)
    ours_state, ref_state = ours.state_dict(), ref.state_dict()
    for name in ref_state:
        if 'running' in name:
            torch.testing.assert_close(ours_state[name], ref_state[name], atol=1e-6, rtol=0)


def test_default_state_dict_matches_build_sam_vit_t(ref_tiny_vit):
    from mobile_sam import build_sam_vit_t

    ref_shapes = {k: v.shape for k, v in build_sam_vit_t().image_encoder.state_dict().items()}
    our_shapes = {k: v.shape for k, v in TinyViT().state_dict().items()}
    assert our_shapes.keys() == ref_shapes.keys()
    assert our_shapes == ref_shapes


@pytest.mark.parametrize('hw', [(64, 32), (48, 80), (16, 16)])
def test_any_multiple_of_16(hw):
    model = TinyViT(**TINY, out_chans=8).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, *hw))
    assert out.shape == (1, 8, hw[0] // 16, hw[1] // 16)


@pytest.mark.parametrize('hw', [(1000, 1000), (64, 40)])
def test_size_not_multiple_of_16_raises(hw):
    model = TinyViT(**TINY)
    with pytest.raises(ValueError, match='multiples of 16') as info:
        model(torch.randn(1, 3, *hw))
    assert f'{hw[0]}x{hw[1]}' in str(info.value)


def test_training_mode_and_frozen_leftovers():
    model = TinyViT(**TINY, drop_path_rate=0.2, norm_eval=True, with_cp=True)
    # The classifier leftovers are never used and must not reach the optimizer.
    assert not any(p.requires_grad for p in model.norm_head.parameters())
    assert not any(p.requires_grad for p in model.head.parameters())
    model.train()
    batch_norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert batch_norms and not any(m.training for m in batch_norms)
    out = model(torch.randn(2, 3, 32, 48))
    out.mean().backward()
    assert model.neck[0].weight.grad is not None
    assert model.layers[1].blocks[0].attn.attention_biases.grad is not None


def test_bad_config_raises():
    with pytest.raises(ValueError, match='needs 4 entries'):
        TinyViT(depths=(2, 2, 6))
    with pytest.raises(ValueError, match='not divisible'):
        TinyViT(num_heads=(2, 4, 7, 10))
