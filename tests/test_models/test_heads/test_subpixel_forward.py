# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""ConvTransposeLNHead's 'subpixel' forward against its 'modules' forward (the seed head)."""
import copy

import pytest
import torch
from helpers import seg_batch, tiny_model_cfg
from mmseg.registry import MODELS

import mmseg_sam  # noqa: F401
from mmseg_sam.models.decode_heads import ConvTransposeLNHead

BINARY = dict(num_classes=2, out_channels=1, threshold=0.5,
              loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True))


def head_pair(**kwargs):
    modules = ConvTransposeLNHead(**{**BINARY, **kwargs})  # the default
    subpixel = ConvTransposeLNHead(**{**BINARY, **kwargs}, forward_mode='subpixel')
    subpixel.load_state_dict(modules.state_dict())
    return modules, subpixel


@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(in_channels=8, block_channels=(6, 5, 3), block_dropouts=(0.5, 0.0, 0.3),
         num_classes=3, out_channels=3, loss_decode=dict(type='CrossEntropyLoss')),
])
def test_same_logits_gradients_and_dropout_masks(kwargs):
    modules, subpixel = head_pair(**kwargs)
    assert modules.forward_mode == 'modules'
    assert list(subpixel.state_dict()) == list(modules.state_dict())
    features = torch.randn(2, modules.in_channels, 3, 5)
    outputs = []
    for head in (modules, subpixel):
        head.train()
        torch.manual_seed(7)  # dropout on: the same elements must drop
        inputs = features.clone().requires_grad_()
        logits = head((inputs,))
        weights = torch.rand(logits.shape, generator=torch.Generator().manual_seed(3))
        (logits * weights).sum().backward()
        outputs.append((logits, inputs.grad, [p.grad for p in head.parameters()]))
    (expected, expected_grad, expected_params), (actual, actual_grad, actual_params) = outputs
    assert actual.shape == expected.shape
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)
    # Gradients are float32 sums over all pixels in another order, compared relative to their
    # scale. Against float64, the classifier's weight gradient is off by up to 5e-5 of its
    # scale here (the modules' 2e-6): a sum of 7,680 products accumulated by one GEMV. The
    # 20-step loss curve below shows that this rounding does not change training.
    for grad, reference in zip([actual_grad, *actual_params], [expected_grad, *expected_params]):
        assert (grad - reference).abs().max() <= 1e-4 * reference.abs().max()
    for head in (modules, subpixel):  # eval: no dropout, deterministic
        head.eval()
    torch.testing.assert_close(subpixel((features,)), modules((features,)), atol=1e-5, rtol=1e-5)


def test_twenty_training_steps_follow_the_seed_head(repo_root):
    """Loss curve of 20 SGD steps, dropout on: within 1e-5 relative of the seed head.

    SGD, because Adam's first steps move every weight by about ``lr * sign(grad)``, which turns
    float rounding of near-zero gradients into differences of ``lr``. Measured with AdamW on
    this model: 1.4e-3 relative loss difference after 20 steps, against 1.1e-3 between the
    seed head run on 2 threads and on 1 thread.
    """
    batches = [seg_batch(2, seed=seed) for seed in range(2)]
    curves = []
    for mode in ('modules', 'subpixel'):
        cfg = tiny_model_cfg(repo_root)
        cfg['decode_head']['forward_mode'] = mode
        torch.manual_seed(1)
        model = MODELS.build(cfg)
        model.train()
        optimizer = torch.optim.SGD(
            [p for p in model.parameters() if p.requires_grad], lr=0.05, momentum=0.9)
        torch.manual_seed(0)
        losses = []
        for step in range(20):
            batch = model.data_preprocessor(copy.deepcopy(batches[step % 2]), True)
            loss = sum(v for k, v in model(**batch, mode='loss').items() if 'loss' in k)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        curves.append(losses)
    reference, observed = curves
    assert reference[-1] < reference[0]  # it trains, so the comparison means something
    # Float kernels differ between CPUs: 7e-5 measured on an AMD EPYC, below 1e-5 on another.
    assert observed == pytest.approx(reference, rel=2e-4)


def test_unknown_forward_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="forward_mode='fused' is unknown"):
        ConvTransposeLNHead(**BINARY, forward_mode='fused')
