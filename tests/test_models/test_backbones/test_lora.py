# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""LoRA on the attention projections of SAM ViT and TinyViT (``SAMFrozenBackbone(lora=...)``)."""
import copy
from types import SimpleNamespace

import pytest
import torch
from helpers import (
    TINY_TINY_VIT_ARCH,
    TINY_VIT_ARCH,
    official_tiny_encoder,
    seg_batch,
    tiny_model_cfg,
    write_official_sam_checkpoint,
)
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmseg.registry import MODELS

from mmseg_sam.engine.hooks import FrozenFeatureCacheHook
from mmseg_sam.models.backbones import SAMFrozenBackbone
from mmseg_sam.models.backbones.lora import LoRALinear, attention_modules, without_lora


def pretrained(path):
    return dict(type='Pretrained', checkpoint=str(path), prefix='image_encoder.')


def trainable_count(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@pytest.fixture()
def official_checkpoint(tmp_path):
    return write_official_sam_checkpoint(tmp_path / 'sam_tiny.pth',
                                         official_tiny_encoder(img_size=64))


@pytest.mark.parametrize('lora, blocks', [
    (dict(rank=4, targets=('q', 'v')), [0, 1]),
    (dict(rank=3, targets=('q', 'k', 'v', 'proj'), blocks=[1]), [1]),
    (dict(rank=1, targets='v', blocks=[0]), [0]),
])
def test_vit_trainable_count_is_the_formula(lora, blocks):
    frozen = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64)
    adapted = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64, lora=lora)
    dim, rank = TINY_VIT_ARCH['embed_dim'], lora['rank']
    targets = (lora['targets'],) if isinstance(lora['targets'], str) else lora['targets']
    # Every target of every adapted block adds A (rank x dim) and B (dim x rank).
    expected = trainable_count(frozen) + len(blocks) * len(targets) * 2 * rank * dim
    assert trainable_count(adapted) == expected
    assert sum(p.numel() for p in adapted.parameters()) == \
        sum(p.numel() for p in frozen.parameters()) + expected - trainable_count(frozen)


def test_tiny_vit_and_mobile_sam_trainable_counts_are_the_formula():
    for arch in (TINY_TINY_VIT_ARCH, 'vit_t'):
        frozen = SAMFrozenBackbone(arch=arch, img_size=64)
        adapted = SAMFrozenBackbone(arch=arch, img_size=64, lora=dict(rank=4))
        widths = [attention.qkv.in_features
                  for attention in attention_modules(frozen.encoder, 'tiny_vit')]
        # Default targets q and v: 2 x (A: 4 x dim, B: dim x 4) per attention block.
        assert trainable_count(adapted) == trainable_count(frozen) + sum(2 * 2 * 4 * w
                                                                         for w in widths)
    # MobileSAM: attention blocks of widths 128 (2), 160 (6), 320 (2).
    assert sorted(widths) == [128] * 2 + [160] * 6 + [320] * 2


def test_only_lora_factors_train_in_the_trunk():
    backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64, lora=dict(rank=2))
    trainable = {name for name, p in backbone.named_parameters() if p.requires_grad}
    assert trainable and all('.lora_' in name or name.startswith('encoder.neck.')
                             for name in trainable)
    assert any(name.startswith('encoder.neck.') for name in trainable)
    backbone.train()
    assert not backbone.encoder.blocks[0].training and backbone.encoder.neck.training


@pytest.mark.parametrize('attention', ['sdpa', 'official'])
def test_zero_initialised_lora_equals_the_frozen_vit(official_checkpoint, attention):
    frozen = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64, trunk_attention=attention,
                               init_cfg=pretrained(official_checkpoint))
    adapted = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64, trunk_attention=attention,
                                lora=dict(rank=4, targets=('q', 'k', 'v', 'proj')),
                                init_cfg=pretrained(official_checkpoint))
    frozen.init_weights()
    adapted.init_weights()  # the official file loads into the LoRA model unchanged
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(frozen.eval()(images)[0], adapted.eval()(images)[0])


def test_zero_initialised_lora_equals_the_frozen_tiny_vit():
    torch.manual_seed(0)
    frozen = SAMFrozenBackbone(arch=TINY_TINY_VIT_ARCH, img_size=64).eval()
    adapted = SAMFrozenBackbone(arch=TINY_TINY_VIT_ARCH, img_size=64,
                                lora=dict(rank=2, targets=('q', 'v', 'proj'))).eval()
    with without_lora(adapted.encoder):
        adapted.encoder.load_state_dict(frozen.encoder.state_dict())
    images = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        assert torch.equal(frozen(images)[0], adapted(images)[0])


def test_lora_works_with_either_vit_attention_forward(official_checkpoint):
    """segment_anything's Attention and the SDPA variant both call self.qkv / self.proj."""
    backbones = [SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64, trunk_attention=attention,
                                   lora=dict(rank=2, targets=('q', 'v', 'proj')),
                                   init_cfg=pretrained(official_checkpoint))
                 for attention in ('official', 'sdpa')]
    torch.manual_seed(1)
    for backbone in backbones:
        backbone.init_weights()
    with torch.no_grad():
        for name, parameter in backbones[0].named_parameters():
            if '.lora_' in name:
                parameter.normal_(0, 0.5)
    backbones[1].load_state_dict(backbones[0].state_dict())
    images = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        official, sdpa = (backbone.eval()(images)[0] for backbone in backbones)
        frozen = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64,
                                   init_cfg=pretrained(official_checkpoint))
        frozen.init_weights()
        unchanged = frozen.eval()(images)[0]
    torch.testing.assert_close(sdpa, official, atol=1e-5, rtol=0)
    assert (official - unchanged).abs().max() > 1e-2  # LoRA is in the path of both


@pytest.mark.parametrize('arch, family_view', [
    (TINY_VIT_ARCH, lambda delta, heads: delta.view(*delta.shape[:-1], 3, heads, -1)
     .movedim(-3, 0)),                          # SAM ViT: (..., 3, heads, head_dim)
    (TINY_TINY_VIT_ARCH, lambda delta, heads: delta.view(*delta.shape[:-1], heads, 3, -1)
     .movedim(-2, 0)),                          # TinyViT: (..., heads, 3, head_dim)
])
@pytest.mark.parametrize('target', ['q', 'k', 'v'])
def test_each_target_updates_only_its_part_of_qkv(arch, family_view, target):
    backbone = SAMFrozenBackbone(arch=arch, img_size=64, lora=dict(rank=2, targets=(target,)))
    attention = attention_modules(backbone.encoder, backbone.arch_family)[-1]
    qkv = attention.qkv
    assert isinstance(qkv, LoRALinear)
    with torch.no_grad():
        qkv.lora_B[target].normal_()
        x = torch.randn(5, qkv.in_features)
        delta = qkv(x) - qkv.base(x)
    # The same reshape the attention forward applies, then q, k, v on the first axis.
    parts = family_view(delta, attention.num_heads)
    index = 'qkv'.index(target)
    assert parts[index].abs().min() > 0
    assert torch.all(parts[[i for i in range(3) if i != index]] == 0)


def test_bad_lora_options_are_clear_errors():
    for lora, words in [(dict(rank=0), 'rank'), (dict(targets=('q', 'o')), 'targets'),
                        (dict(alpha=-1), 'alpha'), (dict(blocks=[2]), r'\[0, 2\)'),
                        (dict(ranks=4), 'unknown keys')]:
        with pytest.raises(ValueError, match=words):
            SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64, lora=lora)


def test_training_step_changes_only_lora_neck_and_head_tensors(repo_root):
    cfg = tiny_model_cfg(repo_root)
    cfg['backbone']['lora'] = dict(rank=2, targets=('q', 'v', 'proj'))
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    model.train()
    before = copy.deepcopy(model.state_dict())
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    optim_wrapper = OptimWrapper(torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad], lr=1e-2))
    for seed in (0, 1):  # B starts at zero, so A first moves in the second step
        model.train_step(seg_batch(2, seed=seed), optim_wrapper)
    after = model.state_dict()
    changed = {key for key in before if not torch.equal(before[key], after[key])}
    assert changed == trainable
    assert any('.lora_A.' in key for key in changed) and any('.lora_B.' in key
                                                             for key in changed)
    assert all(key.startswith(('backbone.encoder.neck.', 'decode_head.')) or '.lora_' in key
               for key in changed)


def test_cache_is_off_with_lora_and_says_why():
    auto = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64, lora=dict(rank=2),
                             feature_cache=dict(enabled='auto', max_memory_mb=8))
    assert auto.feature_cache.enabled is False
    with pytest.raises(ValueError, match=r"enabled=True cannot be used with model.backbone.lora"):
        SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64, lora=dict(rank=2),
                          feature_cache=dict(enabled=True))
    # The hook does not turn 'auto' back on for a deterministic pipeline, and logs why.
    model = torch.nn.Module()
    model.backbone = auto
    lines = []
    runner = SimpleNamespace(
        model=model, logger=SimpleNamespace(info=lines.append, warning=lines.append),
        cfg=Config(dict(train_dataloader=dict(dataset=dict(
            type='AdBoardDataset', pipeline=[dict(type='LoadImageFromFile')])))))
    FrozenFeatureCacheHook().before_train(runner)
    assert auto.feature_cache.enabled is False
    assert len(lines) == 1 and "OFF (enabled='auto')" in lines[0]
    assert 'the trunk trains (LoRA rank 2' in lines[0]
    # The trunk runs with autograd: LoRA factors get gradients through it.
    auto.train()
    auto(torch.randn(1, 3, 64, 64))[0].sum().backward()
    assert auto.encoder.blocks[0].attn.qkv.lora_B['q'].grad is not None


def test_weights_fingerprint_covers_lora_factors():
    """Were a cache ever used with LoRA, changed factors would change every key."""
    backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64, lora=dict(rank=2))
    before = backbone.weights_fingerprint()
    with torch.no_grad():
        backbone.encoder.blocks[1].attn.qkv.lora_B['v'].add_(0.1)
    assert backbone.weights_fingerprint() != before
