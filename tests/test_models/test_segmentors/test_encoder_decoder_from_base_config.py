# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
import pytest
import torch
from helpers import seg_batch, tiny_model_cfg
from mmseg.registry import MODELS

import mmseg_sam  # noqa: F401


@pytest.mark.parametrize('num_classes', [2, 3])
def test_loss_and_predict(repo_root, num_classes):
    model = MODELS.build(tiny_model_cfg(repo_root, num_classes=num_classes))
    batch = model.data_preprocessor(seg_batch(num_classes), True)
    model.train()
    losses = model(**batch, mode='loss')
    assert losses and all(torch.isfinite(v).all() for k, v in losses.items() if 'loss' in k)
    model.eval()
    with torch.no_grad():
        predictions = model(**batch, mode='predict')
    for prediction in predictions:
        assert prediction.pred_sem_seg.data.shape == (1, 64, 64)
        assert set(prediction.pred_sem_seg.data.unique().tolist()) <= set(range(num_classes))


def test_one_optimiser_step_changes_only_neck_and_head(repo_root):
    model = MODELS.build(tiny_model_cfg(repo_root))
    model.train()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=1e-2)
    batch = model.data_preprocessor(seg_batch(2), True)
    losses = model(**batch, mode='loss')
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    optimizer.step()
    for name, parameter in model.named_parameters():
        frozen_trunk = name.startswith('backbone.encoder.') and '.neck.' not in name
        if frozen_trunk:
            assert torch.equal(parameter, before[name]), f'{name} changed'
            assert parameter.grad is None, f'{name} got a gradient'
        elif name.endswith('weight') and parameter.dim() > 1:
            assert not torch.equal(parameter, before[name]), f'{name} did not change'
