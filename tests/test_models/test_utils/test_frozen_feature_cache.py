# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
import copy
import hashlib
from pathlib import Path

import pytest
import torch
from helpers import TINY_VIT_ARCH, seg_batch, tiny_model_cfg
from mmengine.config import Config, ConfigDict
from mmseg.registry import MODELS

import mmseg_sam  # noqa: F401
from mmseg_sam.models.backbones import SAMFrozenBackbone
from mmseg_sam.models.utils import FrozenFeatureCache, build_feature_cache, decide_feature_cache
from mmseg_sam.models.utils.feature_cache_policy import find_random_transforms
from mmseg_sam.models.utils.frozen_feature_cache import (
    FINGERPRINT_COUNT,
    FINGERPRINT_PRIME,
    FINGERPRINT_ROW,
    _weight_tables,
    device_fingerprints,
    tensor_digest,
)


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


# ---------------------------------------------------------------------- enabled setting
def test_enabled_setting_forms():
    assert build_feature_cache(None) is None and build_feature_cache(False) is None
    assert build_feature_cache(True).setting == 'auto'  # the defaults, as before
    assert build_feature_cache(dict(max_memory_mb=8)).setting == 'auto'
    for setting, enabled in (('auto', True), (True, True), (False, False)):
        cache = FrozenFeatureCache(enabled=setting)
        assert (cache.setting, cache.enabled) == (setting, enabled)
    with pytest.raises(ValueError, match="enabled='yes'; expected 'auto'"):
        FrozenFeatureCache(enabled='yes')
    backbone = cached_backbone(enabled=False)
    backbone(torch.randn(1, 3, 64, 64))
    assert backbone.feature_cache.stats['misses'] == 0 and len(backbone.feature_cache) == 0


@pytest.mark.parametrize('pipeline, enabled, unbounded, finite', [
    ([dict(type='LoadImageFromFile'), dict(type='Resize', scale=(64, 64))], True, (), ()),
    ([dict(type='RandomFlip', prob=0.5)], True, (), ('RandomFlip(prob=0.5)',)),
    ([dict(type='RandomFlip', prob=[0.3, 0.3], direction=['horizontal', 'vertical'])], True,
     (), ('RandomFlip(prob=[0.3, 0.3])',)),
    ([dict(type='RandomChoice', transforms=[[dict(type='RandomFlip', prob=1.0)], []])], True,
     (), ('RandomChoice', 'RandomFlip(prob=1.0)')),
    ([dict(type='RandomFlip', prob=0.5), dict(type='RandomResize', scale=(64, 64),
                                              ratio_range=(0.5, 2.0))],
     False, ('RandomResize',), ('RandomFlip(prob=0.5)',)),
    ([dict(type='RandomCrop', crop_size=(32, 32)), dict(type='PhotoMetricDistortion')], False,
     ('RandomCrop', 'PhotoMetricDistortion'), ()),
    ([dict(type='RandomChoice', transforms=[[dict(type='RandomRotate', prob=1.0,
                                                  degree=20)]])],
     False, ('RandomRotate',), ('RandomChoice',)),
])
def test_auto_follows_the_number_of_variants(pipeline, enabled, unbounded, finite):
    dataset = ConfigDict(type='RepeatDataset', dataset=dict(pipeline=pipeline))
    decision = decide_feature_cache('auto', dataset)
    assert (decision.enabled, decision.unbounded, decision.finite) == (enabled, unbounded,
                                                                       finite)
    for name in unbounded or finite:  # the transforms that decided it are named
        assert name in decision.reason


def test_explicit_settings_and_other_random_sources():
    deterministic = dict(pipeline=[dict(type='LoadImageFromFile')])
    random = dict(pipeline=[dict(type='RandomResize', scale=(64, 64), ratio_range=(1, 2))])
    assert decide_feature_cache(True, random).enabled is True
    assert decide_feature_cache(False, deterministic).enabled is False
    assert decide_feature_cache('auto', deterministic, batch_augments=[dict()]).unbounded == (
        'data_preprocessor.batch_augments',)
    jitter = dict(pipeline=[dict(type='MyJitter'), dict(type='RandomFlip', prob=0.5)])
    assert decide_feature_cache('auto', jitter).enabled is True
    assert decide_feature_cache('auto', jitter, ['MyJitter']).unbounded == ('MyJitter',)
    # Declared random without bound wins over the finite table.
    assert not decide_feature_cache('auto', jitter, ['RandomFlip']).enabled
    with pytest.raises(ValueError, match='enabled=1'):
        decide_feature_cache(1, deterministic)


def sam_configs_with_a_cache():
    root = Path(__file__).resolve().parents[3] / 'configs'
    configs = []
    for path in sorted(root.rglob('*.py')):
        if '_base_' in path.parts:
            continue
        cfg = Config.fromfile(str(path))
        backbone = cfg.model.get('backbone', {})
        if backbone.get('type') == 'SAMFrozenBackbone' and backbone.get('feature_cache'):
            configs.append((str(path.relative_to(root)), cfg))
    return configs


def test_published_configs_keep_the_cache_on():
    """Their training pipelines are deterministic, so 'auto' resolves to on, as before."""
    configs = sam_configs_with_a_cache()
    assert len(configs) >= 5
    for name, cfg in configs:
        cache_cfg = cfg.model.backbone.feature_cache
        assert cache_cfg.get('enabled') == 'auto', name
        decision = decide_feature_cache(cache_cfg.enabled, cfg.train_dataloader.dataset)
        assert decision.enabled and not decision.unbounded, (name, decision)


# ---------------------------------------------------------------------- keys
def key_variants():
    """Images that must all get distinct keys (same or different shape/dtype/bytes)."""
    torch.manual_seed(0)
    image = torch.randn(3, 64, 64)
    one_pixel = image.clone()
    one_pixel[2, 63, 63] += 1e-3
    sign_flips = image.clone()  # high-bit changes in two words: the bane of sums mod 2**64
    sign_flips[0, 0, 1] *= -1
    sign_flips[1, 5, 7] *= -1
    swapped = image.clone()
    swapped[0, 0, 0], swapped[0, 0, 1] = image[0, 0, 1], image[0, 0, 0]
    return [image, one_pixel, sign_flips, swapped, image.reshape(3, 32, 128),
            image.view(torch.int32), image.half(), image.to(torch.bfloat16),
            torch.zeros(3, 64, 64), torch.zeros(3, 64, 32, dtype=torch.float64),
            torch.zeros(3, 3, 3, dtype=torch.uint8), torch.zeros(3, 3, 1, 3, dtype=torch.uint8)]


@pytest.mark.parametrize('on_device', [False, True])
def test_keys_are_exact_functions_of_shape_dtype_and_bytes(on_device):
    images = key_variants()
    keys = [FrozenFeatureCache.make_keys(image.unsqueeze(0), 'ctx', on_device)[0]
            for image in images]
    assert len(set(keys)) == len(keys)
    # Equal content: a clone, a non-contiguous view and a batch position give the same key.
    image = images[0]
    transposed = image.transpose(1, 2).contiguous().transpose(1, 2)
    batch = torch.stack([images[1], image.clone()])
    assert FrozenFeatureCache.make_keys(batch, 'ctx', on_device) == keys[1::-1]
    assert FrozenFeatureCache.make_keys(transposed.unsqueeze(0), 'ctx', on_device) == keys[:1]
    assert FrozenFeatureCache.make_keys(image.unsqueeze(0), 'other', on_device) != keys[:1]


def test_cpu_keys_are_unchanged_and_device_fingerprints_exact():
    """CPU keys keep the earlier format (existing disk caches still hit); the device
    fingerprint equals the same sum computed with Python integers."""
    image = torch.randn(3, 16, 16)
    context_hash = hashlib.blake2b(b'ctx', digest_size=8).hexdigest()
    assert FrozenFeatureCache.make_key(image, 'ctx') == tensor_digest([image]) + '-' + (
        context_hash)
    data = torch.tensor([[1, 2, 3, 250, 7]], dtype=torch.uint8)
    row_weights, column_weights = _weight_tables(data.device, 1)
    words = [1 + 2 * 256, 3 + 250 * 256, 7]  # little-endian 16-bit words, zero-padded
    expected = tuple(
        sum(w * int(column_weights[j, i]) for i, w in enumerate(words)) % FINGERPRINT_PRIME
        * int(row_weights[j, 0]) % FINGERPRINT_PRIME for j in range(FINGERPRINT_COUNT))
    assert device_fingerprints(data) == [expected]
    # Several rows: a change in any row changes the fingerprint.
    long = torch.zeros(1, 3 * FINGERPRINT_ROW, dtype=torch.int16)
    base = device_fingerprints(long)
    for position in (0, FINGERPRINT_ROW + 5, 3 * FINGERPRINT_ROW - 1):
        changed = long.clone()
        changed[0, position] = -1
        assert device_fingerprints(changed) != base


def test_device_keys_never_copy_the_input_to_the_host(monkeypatch):
    """On the device path only the (B, COUNT) fingerprints may reach the host: no
    ``.cpu()``, ``.numpy()``, ``.to('cpu')`` or ``.tolist()`` of anything bigger."""
    images = torch.randn(2, 3, 64, 64)
    FrozenFeatureCache.make_keys(images, 'ctx', on_device=True)  # weight tables built
    host_copies = []

    def spy(name):
        original = getattr(torch.Tensor, name)

        def wrapper(self, *args, **kwargs):
            to_cpu = name != 'to' or any(
                str(a) == 'cpu' for a in (*args, *kwargs.values())
                if isinstance(a, (str, torch.device)))
            if to_cpu and self.numel() > images.shape[0] * FINGERPRINT_COUNT:
                host_copies.append((name, tuple(self.shape)))
            return original(self, *args, **kwargs)
        monkeypatch.setattr(torch.Tensor, name, wrapper)

    for name in ('cpu', 'numpy', 'to', 'tolist'):
        spy(name)
    keys = FrozenFeatureCache.make_keys(images, 'ctx', on_device=True)
    assert len(set(keys)) == 2 and host_copies == []
    FrozenFeatureCache.make_keys(images, 'ctx', on_device=False)  # the spy does see copies
    assert host_copies
