# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
import copy

import pytest
import torch
from helpers import TINY_VIT_ARCH, seg_batch, tiny_model_cfg
from mmengine.config import ConfigDict
from mmseg.registry import MODELS

import mmseg_sam  # noqa: F401
from mmseg_sam.engine.hooks.frozen_feature_cache_hook import find_random_transforms
from mmseg_sam.models.backbones import SAMFrozenBackbone
from mmseg_sam.models.utils import FrozenFeatureCache


def train_losses(model, batches, steps_per_batch=1):
    """Losses of a few Adam steps (dropout off so runs are comparable)."""
    torch.manual_seed(0)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model.train()
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    losses = []
    for _ in range(3):  # three "epochs" over the same batches
        for raw in batches:
            batch = model.data_preprocessor(copy.deepcopy(raw), True)
            loss = sum(v for k, v in model(**batch, mode='loss').items() if 'loss' in k)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses


@pytest.mark.parametrize('storage_dtype, tolerance', [('float32', 1e-6), ('float16', 1e-3)])
def test_cached_training_matches_uncached(repo_root, storage_dtype, tolerance):
    batches = [seg_batch(2, seed=seed) for seed in range(2)]
    torch.manual_seed(1)
    uncached = MODELS.build(tiny_model_cfg(repo_root))
    cached = MODELS.build(tiny_model_cfg(
        repo_root, feature_cache=dict(max_memory_mb=64, storage_dtype=storage_dtype)))
    cached.load_state_dict(uncached.state_dict())
    reference = train_losses(uncached, batches)
    observed = train_losses(cached, batches)
    # fp32 storage is exact; fp16 storage rounds the trunk output (relative 2**-11), which
    # moves the loss by well under 1e-3 on this model.
    assert observed == pytest.approx(reference, abs=tolerance)
    cache = cached.backbone.feature_cache
    assert cache.stats['misses'] == 4 and cache.stats['hits'] == 8  # encoder ran once per image


def cached_backbone(**cache_kwargs):
    torch.manual_seed(0)
    return SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64,
                             feature_cache=dict(max_memory_mb=64, **cache_kwargs)).eval()


def test_changed_image_or_weights_is_a_miss():
    backbone = cached_backbone()
    images = torch.randn(2, 3, 64, 64)
    backbone(images)
    backbone(images)
    assert backbone.feature_cache.stats == dict(hits=2, misses=2, corrupt=0, evicted=0)
    changed = images.clone()
    changed[1, 0, 0, 0] += 1e-3
    backbone(changed)
    assert backbone.feature_cache.stats['misses'] == 3
    # New weights (load_state_dict writes in place) must never be served old features.
    state = backbone.state_dict()
    state['encoder.blocks.0.mlp.lin1.weight'] += 0.1
    backbone.load_state_dict(state)
    (features,) = backbone(images)
    assert backbone.feature_cache.stats['misses'] == 5
    uncached = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64).eval()
    uncached.load_state_dict(state)
    torch.testing.assert_close(features, uncached(images)[0], atol=1e-2, rtol=0)


def test_disk_level_survives_and_corrupt_files_are_recomputed(tmp_path):
    images = torch.randn(1, 3, 64, 64)
    first = cached_backbone(disk_dir=str(tmp_path), storage_dtype='float32')
    (expected,) = first(images)
    files = list(tmp_path.glob('*.pt'))
    assert len(files) == 1
    second = cached_backbone(disk_dir=str(tmp_path), storage_dtype='float32')
    (reloaded,) = second(images)
    assert second.feature_cache.stats['hits'] == 1
    torch.testing.assert_close(reloaded, expected)
    # Flip bytes inside the tensor payload: the digest catches it.
    data = bytearray(files[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    files[0].write_bytes(bytes(data))
    third = cached_backbone(disk_dir=str(tmp_path), storage_dtype='float32')
    (recomputed,) = third(images)
    assert third.feature_cache.stats['corrupt'] == 1
    torch.testing.assert_close(recomputed, expected)
    # Truncated file: same.
    files[0].write_bytes(files[0].read_bytes()[:100])
    fourth = cached_backbone(disk_dir=str(tmp_path), storage_dtype='float32')
    fourth(images)
    assert fourth.feature_cache.stats['corrupt'] == 1


def test_memory_limit_evicts_least_recently_used():
    cache = FrozenFeatureCache(max_memory_mb=1, storage_dtype='float32')
    entry = [torch.zeros(64, 64, 32)]  # 0.5 MB
    for key in 'abc':
        cache.put(key, entry)
    assert len(cache) == 2 and cache.get('a') is None and cache.get('c') is not None
    # Storing a key again (one image twice in a batch) replaces it without growing the total.
    cache.put('c', entry)
    assert len(cache) == 2 and cache.get('b') is not None
    with pytest.raises(ValueError, match='storage_dtype'):
        FrozenFeatureCache(storage_dtype='int8')


def test_random_pipelines_are_detected():
    deterministic = ConfigDict(type='AdBoardDataset', pipeline=[
        dict(type='LoadImageFromFile'), dict(type='Resize', scale=(64, 64))])
    assert find_random_transforms(deterministic) == []
    augmented = ConfigDict(type='RepeatDataset', dataset=dict(pipeline=[
        dict(type='RandomFlip', prob=0.5), dict(type='PhotoMetricDistortion'),
        dict(type='RandomChoice', transforms=[[dict(type='MyJitter')]])]))
    assert find_random_transforms(augmented, ['MyJitter']) == [
        'RandomFlip', 'PhotoMetricDistortion', 'RandomChoice', 'MyJitter']


def test_tiny_vit_trunk_with_batchnorm_counters_is_cached():
    """TinyViT's trunk has BatchNorm (0-dim ``num_batches_tracked`` buffers) in its weights
    fingerprint; its features are cached and BN statistics never move."""
    arch = dict(type='tiny_vit', embed_dims=(16, 32, 48, 320), depths=(1, 1, 1, 1),
                num_heads=(1, 2, 3, 5), window_sizes=(2, 2, 2, 2))
    backbone = SAMFrozenBackbone(arch=arch, img_size=64, feature_cache=dict(max_memory_mb=8))
    backbone.train()
    running_means = [m.running_mean.clone() for m in backbone.modules()
                     if isinstance(m, torch.nn.BatchNorm2d)]
    images = torch.randn(2, 3, 64, 64)
    first = backbone(images)[0]
    second = backbone(images)[0]
    assert backbone.feature_cache.stats['hits'] == 2
    torch.testing.assert_close(first, second)
    assert all(torch.equal(before, m.running_mean) for before, m in zip(
        running_means, (m for m in backbone.modules() if isinstance(m, torch.nn.BatchNorm2d))))


def test_disk_dir_that_is_a_file_or_cannot_be_created_fails_at_build(tmp_path):
    a_file = tmp_path / 'cache.txt'
    a_file.write_text('not a folder')
    with pytest.raises(ValueError, match=r"model\.backbone\.feature_cache\.disk_dir='.*cache\."
                                         r"txt' is an existing file, not a folder\. Fix: give"):
        cached_backbone(disk_dir=str(a_file))
    with pytest.raises(ValueError, match=r"feature_cache\.disk_dir='.*cache\.txt/sub' cannot "
                                         r'be created \(.*\)\. Fix: give a folder path'):
        SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64,
                          feature_cache=dict(disk_dir=str(a_file / 'sub')))
    cached_backbone(disk_dir=str(tmp_path / 'new' / 'cache'))  # missing folders are created
    assert (tmp_path / 'new' / 'cache').is_dir()
