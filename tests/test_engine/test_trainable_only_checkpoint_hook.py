# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Checkpoints with the trainable tensors only, loaded back on top of the official weights."""
from types import SimpleNamespace

import pytest
import torch
from helpers import official_tiny_encoder, tiny_model_cfg, write_official_sam_checkpoint
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import weights_to_cpu
from mmseg.registry import MODELS

from mmseg_sam.engine.hooks import TrainableOnlyCheckpointHook
from mmseg_sam.models.backbones import SAMFrozenBackbone
from mmseg_sam.models.backbones.lora import without_lora
from mmseg_sam.models.utils import CheckpointMismatchError
from mmseg_sam.models.utils.trainable_state import TRAINABLE_ONLY_KEY, trainable_state_keys

LORA = dict(rank=2, targets=('q', 'v'))


def build(repo_root, official, lora=LORA, with_init_cfg=True):
    cfg = tiny_model_cfg(repo_root)
    cfg['backbone']['lora'] = lora
    if with_init_cfg:
        cfg['backbone']['init_cfg'] = dict(type='Pretrained', checkpoint=str(official),
                                           prefix='image_encoder.')
    return MODELS.build(cfg)


def save_with_hook(model, path):
    """What the runner does: the whole state dict, then before_save_checkpoint hooks."""
    lines = []
    runner = SimpleNamespace(model=model, logger=SimpleNamespace(info=lines.append))
    checkpoint = dict(meta={}, state_dict=weights_to_cpu(model.state_dict()))
    TrainableOnlyCheckpointHook().before_save_checkpoint(runner, checkpoint)
    torch.save(checkpoint, path)
    return checkpoint, lines


@pytest.fixture()
def trained(repo_root, tmp_path):
    """A LoRA model on official tiny weights whose trainable tensors were 'trained'."""
    official = write_official_sam_checkpoint(tmp_path / 'sam_tiny.pth',
                                             official_tiny_encoder(img_size=64))
    torch.manual_seed(0)
    model = build(repo_root, official)
    model.init_weights()
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.requires_grad:
                parameter.add_(torch.randn_like(parameter) * 0.1)
    return model.eval(), official


def predict(model, images):
    with torch.no_grad():
        return model.eval()._forward(images)


def test_checkpoint_holds_exactly_the_trainable_tensors(trained, tmp_path):
    model, _ = trained
    checkpoint, lines = save_with_hook(model, tmp_path / 'ckpt.pth')
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert set(checkpoint['state_dict']) == trainable
    assert any('.lora_B.' in key for key in trainable) and any(
        key.startswith('decode_head.') for key in trainable)
    meta = checkpoint['meta'][TRAINABLE_ONLY_KEY]
    assert meta['kept_tensors'] == len(trainable) and meta['dropped_tensors'] > 0
    assert len(lines) == 1 and 'trainable tensors only' in lines[0]


@pytest.mark.parametrize('with_init_cfg', [True, False])
def test_loads_on_top_of_the_official_weights(repo_root, trained, tmp_path, with_init_cfg):
    """With init_cfg (tools/test.py) or without (init_model deletes it: the file says)."""
    model, official = trained
    path = tmp_path / 'ckpt.pth'
    save_with_hook(model, path)
    fresh = build(repo_root, official, with_init_cfg=with_init_cfg)  # no init_weights
    load_checkpoint(fresh, str(path), map_location='cpu')
    images = torch.randn(2, 3, 64, 64)
    assert torch.equal(predict(fresh, images), predict(model, images))


def test_training_resumes_from_it_after_init_weights(repo_root, trained, tmp_path):
    model, official = trained
    path = tmp_path / 'ckpt.pth'
    save_with_hook(model, path)
    fresh = build(repo_root, official)
    fresh.init_weights()  # the runner's order: init_weights, then load_from / resume
    load_checkpoint(fresh, str(path), map_location='cpu')
    images = torch.randn(1, 3, 64, 64)
    assert torch.equal(predict(fresh, images), predict(model, images))


def test_real_mismatches_are_still_errors(repo_root, trained, tmp_path):
    model, official = trained
    checkpoint, _ = save_with_hook(model, tmp_path / 'ckpt.pth')
    state = checkpoint['state_dict']
    # A trainable tensor missing.
    lost = 'backbone.encoder.blocks.1.attn.qkv.lora_A.v'
    del state[lost]
    torch.save(checkpoint, tmp_path / 'missing.pth')
    with pytest.raises(CheckpointMismatchError,
                       match=r'(?s)trainable tensors only.*missing from the checkpoint.*'
                             + lost.replace('.', r'\.')):
        load_checkpoint(build(repo_root, official), str(tmp_path / 'missing.pth'))
    # Another rank: wrong shapes.
    save_with_hook(model, tmp_path / 'rank2.pth')
    with pytest.raises(CheckpointMismatchError, match=r'(?s)wrong shape.*lora_A\.q'):
        load_checkpoint(build(repo_root, official, lora=dict(rank=3)),
                        str(tmp_path / 'rank2.pth'))
    # A model without LoRA: the LoRA tensors are unexpected.
    with pytest.raises(CheckpointMismatchError, match=r'(?s)not in the model.*lora_'):
        load_checkpoint(build(repo_root, official, lora=None), str(tmp_path / 'rank2.pth'))


def test_without_a_source_of_base_weights_it_is_an_error(repo_root, trained, tmp_path):
    model, official = trained
    model.backbone.init_cfg = None  # nothing recorded in the file either
    save_with_hook(model, tmp_path / 'ckpt.pth')
    with pytest.raises(CheckpointMismatchError, match=r"init_cfg=dict\(type='Pretrained'"):
        load_checkpoint(build(repo_root, official, with_init_cfg=False),
                        str(tmp_path / 'ckpt.pth'))


def test_an_unmarked_partial_checkpoint_is_refused_as_before(trained, tmp_path):
    model, official = trained
    checkpoint, _ = save_with_hook(model, tmp_path / 'ckpt.pth')
    plain = dict(state_dict=dict(checkpoint['state_dict']))  # marker lost with _metadata
    torch.save(plain, tmp_path / 'plain.pth')
    with pytest.raises(CheckpointMismatchError, match='missing from the checkpoint'):
        load_checkpoint(model, str(tmp_path / 'plain.pth'))


def test_tiny_vit_round_trip_leaves_out_frozen_batchnorm_statistics(tmp_path):
    arch = dict(type='tiny_vit', embed_dims=(8, 16, 24, 32), depths=(1, 1, 1, 1),
                num_heads=(1, 2, 3, 4), window_sizes=(7, 7, 7, 7), num_classes=0)
    torch.manual_seed(0)
    backbone = SAMFrozenBackbone(arch=arch, img_size=64, lora=LORA).eval()
    with torch.no_grad():
        for module in backbone.modules():  # non-default BatchNorm statistics, as pretrained
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_()
        for parameter in backbone.parameters():
            if parameter.requires_grad:
                parameter.add_(torch.randn_like(parameter) * 0.1)
    official = tmp_path / 'tiny_vit_encoder.pth'
    with without_lora(backbone.encoder):  # a bare encoder state dict in the official layout
        torch.save(backbone.encoder.state_dict(), official)
    keys = trainable_state_keys(backbone)
    assert keys == [name for name, p in backbone.named_parameters() if p.requires_grad]
    assert any('running_mean' in key for key in backbone.state_dict())
    backbone.init_cfg = dict(type='Pretrained', checkpoint=str(official), prefix='')
    save_with_hook(backbone, tmp_path / 'ckpt.pth')
    fresh = SAMFrozenBackbone(arch=arch, img_size=64, lora=LORA)
    load_checkpoint(fresh, str(tmp_path / 'ckpt.pth'))  # base weights from the recorded file
    images = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(fresh.eval()(images)[0], backbone(images)[0])
