# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
import pytest
import torch
from torch import nn

from mmseg_sam.models.decode_heads import ConvTransposeLNHead

BINARY = dict(num_classes=2, out_channels=1, threshold=0.5,
              loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True))


def test_default_head_is_the_reference_decoder():
    head = ConvTransposeLNHead(**BINARY)
    assert sum(p.numel() for p in head.parameters()) == 174_817
    blocks = list(head.upsample_blocks)
    assert [b[0].out_channels for b in blocks] == [128, 64, 32, 16]
    assert [any(isinstance(m, nn.Dropout) for m in b) for b in blocks] == [
        True, False, True, False]
    assert all(b[1].eps == 1e-6 for b in blocks)
    assert head.dropout is None  # no Dropout2d before conv_seg in the recipe
    logits = head((torch.randn(2, 256, 4, 6),))
    assert logits.shape == (2, 1, 64, 96)  # 16x the feature size


def test_any_number_of_blocks_and_multiclass():
    head = ConvTransposeLNHead(in_channels=8, block_channels=(4, 4), block_dropouts=None,
                               num_classes=3)
    assert head((torch.randn(1, 8, 5, 5),)).shape == (1, 3, 20, 20)


@pytest.mark.parametrize('kwargs, message', [
    (dict(block_channels=(8, 4), block_dropouts=(0.1,)), 'one dropout probability per block'),
    (dict(block_channels=()), 'non-empty'),
    (dict(block_dropouts=(1.5, 0, 0, 0)), r'\[0, 1\)'),
    (dict(in_channels=[256, 128]), 'single selected input'),
    (dict(channels=32), 'contradicts block_channels'),
])
def test_bad_arguments_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ConvTransposeLNHead(**{**BINARY, **kwargs})


def test_wrong_input_channels_at_runtime():
    head = ConvTransposeLNHead(**BINARY)
    with pytest.raises(ValueError, match='expected in_channels=256'):
        head((torch.randn(1, 128, 4, 4),))


def test_classifier_keeps_pytorch_default_init():
    """MMSeg's N(0, 0.01) classifier init slows this model down; ours keeps the default."""
    torch.manual_seed(0)
    head = ConvTransposeLNHead(**BINARY)
    head.init_weights()
    # PyTorch's default for a 1x1 conv with 16 inputs: U(-1/4, 1/4), std ~0.14.
    weight = head.conv_seg.weight
    assert weight.abs().max() <= 0.25 and weight.std() > 0.05


SIGMOID_CE = dict(type='CrossEntropyLoss', use_sigmoid=True)
SOFTMAX_CE = dict(type='CrossEntropyLoss', use_sigmoid=False)


@pytest.mark.parametrize('kwargs, message', [
    # One logit for three classes: MMSeg builds it, and classes 2.. are never predicted.
    (dict(num_classes=3, out_channels=1, loss_decode=SIGMOID_CE),
     r'out_channels=1 \(one sigmoid logit\) only works for a binary task, but '
     r'num_classes=3.*Fix: set model\.decode_head\.out_channels=3'),
    # A softmax CE on one logit fails at the first step with 'Target 1 is out of bounds'.
    (dict(num_classes=2, out_channels=1, loss_decode=SOFTMAX_CE),
     r'model\.decode_head\.loss_decode \(CrossEntropyLoss\) has use_sigmoid=False.*'
     r'Target 1 is out of bounds.*Fix: use_sigmoid=True'),
    (dict(num_classes=2, out_channels=1, loss_decode=[SIGMOID_CE, SOFTMAX_CE]),
     r'loss_decode\[1\] \(CrossEntropyLoss\) has use_sigmoid=False'),
    (dict(num_classes=2, out_channels=1, loss_decode=dict(type='DiceLoss')),
     r"MMSeg's DiceLoss.*against the background mask.*SoftDiceLoss"),
    (dict(num_classes=2, out_channels=1, loss_decode=dict(type='TverskyLoss')),
     r'\(TverskyLoss\) works on a softmax'),
    (dict(num_classes=5, out_channels=3, loss_decode=SOFTMAX_CE),
     r'model\.decode_head\.out_channels=3 does not match num_classes=5.*Fix: set '
     r'model\.decode_head\.out_channels=5'),
    (dict(num_classes=1, out_channels=1, loss_decode=SIGMOID_CE),
     r'model\.decode_head\.num_classes=1: expected .* at least 2.*num_classes=2, '
     r'out_channels=1'),
])
def test_head_and_loss_must_agree(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ConvTransposeLNHead(threshold=0.5, **kwargs)


@pytest.mark.parametrize('kwargs', [
    BINARY,
    dict(num_classes=2, out_channels=1, threshold=0.5,
         loss_decode=[SIGMOID_CE, dict(type='SoftDiceLoss')]),
    dict(num_classes=2, out_channels=2, loss_decode=SOFTMAX_CE),
    dict(num_classes=4, out_channels=4, loss_decode=[SOFTMAX_CE, dict(type='DiceLoss')]),
    dict(num_classes=4, loss_decode=SOFTMAX_CE),  # out_channels defaults to num_classes
])
def test_consistent_heads_build(kwargs):
    ConvTransposeLNHead(**kwargs)


def test_checkpoint_of_another_head_is_refused_with_the_fine_tuning_fix():
    trained = ConvTransposeLNHead(num_classes=3, out_channels=3, loss_decode=SOFTMAX_CE)
    head = ConvTransposeLNHead(**BINARY)
    for strict in (True, False):  # strict=False does not make a random classifier silent
        with pytest.raises(RuntimeError, match=r"(?s)does not fit ConvTransposeLNHead.*"
                                               r'wrong shape \(2\):\n    conv_seg\.weight: '
                                               r'checkpoint \(3, 16, 1, 1\) vs model '
                                               r"\(1, 16, 1, 1\).*prefix='backbone\.encoder\.'"):
            head.load_state_dict(trained.state_dict(), strict=strict)
    state = head.state_dict()
    del state['upsample_blocks.0.0.bias']
    state['extra.weight'] = torch.zeros(1)
    with pytest.raises(RuntimeError, match=r'(?s)missing from the checkpoint \(1\):\n'
                                           r'    upsample_blocks\.0\.0\.bias\n.*'
                                           r'not in the model \(1\):\n    extra\.weight'):
        head.load_state_dict(state)
    head.load_state_dict(ConvTransposeLNHead(**BINARY).state_dict())  # same config: fine


#: Skips of every kind: strides 16 (the head input's own), 8, 4 and 1 (a stem level).
SKIPS = [dict(in_index=0, in_channels=6, stride=16), dict(in_index=1, in_channels=5, stride=8),
         dict(in_index=2, in_channels=4, stride=4), dict(in_index=3, in_channels=3, stride=1)]


def skip_inputs(batch: int = 2, grid=(3, 5), seed: int = 0):
    """Backbone outputs for SKIPS, then the head input (256 channels, stride 16)."""
    gen = torch.Generator().manual_seed(seed)
    h, w = grid
    return (torch.randn(batch, 6, h, w, generator=gen),
            torch.randn(batch, 5, 2 * h, 2 * w, generator=gen),
            torch.randn(batch, 4, 4 * h, 4 * w, generator=gen),
            torch.randn(batch, 3, 16 * h, 16 * w, generator=gen),
            torch.randn(batch, 256, h, w, generator=gen))


def test_skips_start_as_the_seed_head_and_leave_its_keys_alone():
    torch.manual_seed(0)
    fused = ConvTransposeLNHead(**BINARY, skips=SKIPS)
    seed_head = ConvTransposeLNHead(**BINARY)
    seed_keys = set(seed_head.state_dict())
    assert seed_keys < set(fused.state_dict())
    assert {k for k in fused.state_dict() if k not in seed_keys} == {
        f'skip_projections.{i}.{p}' for i in range(4) for p in ('weight', 'bias')}
    # Projections to the width where each skip joins: input 256, then blocks 128, 64, 32, 16.
    assert [(p.in_channels, p.out_channels) for p in fused.skip_projections] == [
        (6, 256), (5, 128), (4, 64), (3, 16)]
    seed_head.load_state_dict({k: v for k, v in fused.state_dict().items() if k in seed_keys})
    fused.eval()
    seed_head.eval()
    inputs = skip_inputs()
    logits = fused(inputs)
    assert logits.shape == (2, 1, 48, 80)
    assert torch.equal(logits, seed_head(inputs[-1:]))


def test_every_skip_changes_the_logits_after_a_step():
    torch.manual_seed(0)
    head = ConvTransposeLNHead(**BINARY, skips=SKIPS, block_dropouts=None)
    inputs = skip_inputs()
    optimizer = torch.optim.SGD(head.parameters(), lr=0.1)
    head(inputs).square().mean().backward()
    # Zero weights, non-zero gradients: each projection learns from the first step.
    assert all(p.weight.grad.abs().sum() > 0 for p in head.skip_projections)
    optimizer.step()
    head.eval()
    with torch.no_grad():
        reference = head(inputs)
        for index in range(4):  # each skip now reaches the logits
            changed = list(inputs)
            changed[index] = changed[index] + 1.0
            assert not torch.allclose(head(tuple(changed)), reference)


@pytest.mark.parametrize('skip, message', [
    (dict(in_index=0, in_channels=6, stride=3), r'strides \[16, 8, 4, 2, 1\]'),
    (dict(in_index=0, in_channels=6, stride=32), 'stride=32'),
    (dict(in_index=0, channels=6, stride=4), 'optionally normalize=True/False, no other keys'),
    (dict(in_index=0, in_channels=6, stride=4, normalize=1), 'normalize must be True or False'),
    (dict(in_index=0, in_channels=0, stride=4), 'positive int'),
])
def test_bad_skips_are_clear_errors(skip, message):
    with pytest.raises(ValueError, match=message):
        ConvTransposeLNHead(**BINARY, skips=[skip])


def test_normalized_skips_keep_the_keys_and_ignore_the_scale_and_offset_of_the_features():
    torch.manual_seed(0)
    normalized = [dict(skip, normalize=True) for skip in SKIPS]
    head = ConvTransposeLNHead(**BINARY, skips=normalized, block_dropouts=None).eval()
    plain = ConvTransposeLNHead(**BINARY, skips=SKIPS, block_dropouts=None).eval()
    assert list(head.state_dict()) == list(plain.state_dict())  # no parameters added
    plain.load_state_dict(head.state_dict())
    inputs = skip_inputs()
    assert torch.equal(head(inputs), plain(inputs))  # both start as the seed head
    with torch.no_grad():
        for projection in head.skip_projections:
            projection.weight.normal_()
    plain.load_state_dict(head.state_dict())
    # Each pixel's skip channels shifted and scaled (as a stage with a large channel mean):
    # the normalised head does not see it, the plain one does.
    gen = torch.Generator().manual_seed(1)
    shifted = tuple(x * (1 + 4 * torch.rand(x.shape[0], 1, *x.shape[2:], generator=gen)) + 3.0
                    for x in inputs[:-1]) + inputs[-1:]
    with torch.no_grad():
        torch.testing.assert_close(head(shifted), head(inputs), atol=2e-3, rtol=1e-3)
        assert not torch.allclose(plain(shifted), plain(inputs), atol=1e-2)
        # And what it computes: a LayerNorm without affine weights, then the 1x1 convolution.
        projection, skip = head.skip_projections[0], inputs[0]
        reference = nn.functional.conv2d(
            nn.functional.layer_norm(skip.permute(0, 2, 3, 1), (6,), eps=1e-6)
            .permute(0, 3, 1, 2), projection.weight, projection.bias)
        torch.testing.assert_close(projection(skip), reference)


def test_skips_refuse_subpixel_and_a_wrong_backbone_output():
    with pytest.raises(ValueError, match=r'model.decode_head.input_stride=12: .*power of two'):
        ConvTransposeLNHead(**BINARY, skips=SKIPS[:1], input_stride=12)
    with pytest.raises(ValueError, match="forward_mode='modules'"):
        ConvTransposeLNHead(**BINARY, skips=SKIPS[:1], forward_mode='subpixel')
    head = ConvTransposeLNHead(**BINARY, skips=[dict(in_index=0, in_channels=5, stride=4)])
    with pytest.raises(ValueError, match=r'in_index=0 \(stride=4, in_channels=5\): expected '
                                         r'\(B, 5, 12, 20\).*got \(2, 6, 3, 5\)'):
        head(skip_inputs())
