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


@pytest.mark.parametrize('with_stem', [False, True])
def test_detail_head_base_config_trains_with_the_cache(repo_root, with_stem):
    """``_base_/models/convtrans-ln-detail_sam-vit-t.py`` on a tiny TinyViT: stage skips
    (and optionally the trainable stem) fused, frozen levels served by the cache."""
    from helpers import TINY_TINY_VIT_ARCH
    from mmengine.config import Config
    cfg = Config.fromfile(
        str(repo_root / 'configs/_base_/models/convtrans-ln-detail_sam-vit-t.py')).model
    widths = TINY_TINY_VIT_ARCH['embed_dims']
    cfg['data_preprocessor']['size'] = (64, 64)
    cfg['backbone'].update(arch=dict(TINY_TINY_VIT_ARCH), img_size=64, init_cfg=None,
                           feature_cache=dict(max_memory_mb=8))
    skips = [dict(in_index=0, in_channels=widths[0], stride=4),
             dict(in_index=1, in_channels=widths[1], stride=8)]
    if with_stem:
        cfg['backbone']['detail_stem'] = dict(channels=(4, 8))
        skips += [dict(in_index=2, in_channels=4, stride=1),
                  dict(in_index=3, in_channels=8, stride=2)]
    cfg['decode_head'].update(skips=skips, in_index=len(skips))
    model = MODELS.build(cfg)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=1e-2)
    batch = model.data_preprocessor(seg_batch(2), True)
    for _ in range(2):  # the second step reads the frozen levels from the cache
        optimizer.zero_grad()
        losses = model(**batch, mode='loss')
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        optimizer.step()
    assert model.backbone.feature_cache.stats['hits'] == 2
    assert all(p.weight.abs().sum() > 0 for p in model.decode_head.skip_projections)
    model.eval()
    with torch.no_grad():
        predictions = model(**batch, mode='predict')
    assert predictions[0].pred_sem_seg.data.shape == (1, 64, 64)
