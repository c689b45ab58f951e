# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
import re

import pytest
import torch
import torch.nn.functional as F
from helpers import (
    TINY_TINY_VIT_ARCH,
    TINY_VIT_ARCH,
    official_tiny_encoder,
    write_official_sam_checkpoint,
)

from mmseg_sam.models.backbones import SAMFrozenBackbone


def pretrained(path, prefix='image_encoder.'):
    return dict(type='Pretrained', checkpoint=str(path), prefix=prefix)


@pytest.fixture()
def official_checkpoint(tmp_path):
    encoder = official_tiny_encoder(img_size=64)
    return encoder, write_official_sam_checkpoint(tmp_path / 'sam_tiny.pth', encoder)


def test_parity_with_official_encoder(official_checkpoint):
    official, path = official_checkpoint
    backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64, init_cfg=pretrained(path))
    backbone.init_weights()
    backbone.eval()
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = official(images)
        (ours,) = backbone(images)
    assert ours.shape == (2, 256, 4, 4)
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=0)


def test_bare_encoder_state_dict_loads(tmp_path):
    official = official_tiny_encoder(img_size=64)
    path = tmp_path / 'encoder_only.pth'
    torch.save(official.state_dict(), path)
    backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64, init_cfg=pretrained(path))
    backbone.init_weights()
    images = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(backbone.eval()(images)[0], official(images), atol=1e-5,
                                   rtol=0)


def test_mismatched_keys_are_an_error_listing_them(official_checkpoint):
    _, path = official_checkpoint
    wrong_depth = dict(TINY_VIT_ARCH, depth=3)
    backbone = SAMFrozenBackbone(arch=wrong_depth, img_size=64, init_cfg=pretrained(path))
    with pytest.raises(KeyError, match=r'(?s)missing from the file \(14\):.*blocks\.2\.') \
            as error:
        backbone.init_weights()
    # Readable: str() is the message (not a KeyError repr), one key per line, capped.
    message = str(error.value)
    assert '\\n' not in message and message.count('\n') < 20
    assert '\n    blocks.2.norm1.weight\n' in message and '... and 4 more' in message
    assert 'model.backbone.arch' in message


def test_wrong_prefix_is_an_error(official_checkpoint):
    _, path = official_checkpoint
    backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64,
                                 init_cfg=pretrained(path, prefix='mask_decoder.'))
    # The file has mask_decoder.* keys, which are no encoder.
    with pytest.raises(KeyError, match=r"(?s)keys and shapes do not match.*missing from the "
                                       r"file.*init_cfg\.prefix \(now 'mask_decoder\.'\)"):
        backbone.init_weights()
    backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64,
                                 init_cfg=pretrained(path, prefix='decoder.'))
    with pytest.raises(KeyError, match="(?s)no key starts with prefix 'decoder.'.*"
                                       r"image_encoder\..*model\.backbone\.init_cfg\.prefix"):
        backbone.init_weights()


def test_resized_load_from_1024_checkpoint(tmp_path):
    official = official_tiny_encoder(img_size=1024)
    path = write_official_sam_checkpoint(tmp_path / 'sam_1024.pth', official)
    backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=512, init_cfg=pretrained(path))
    backbone.init_weights()
    (features,) = backbone(torch.randn(1, 3, 512, 512))
    assert features.shape == (1, 256, 32, 32)
    # The tables were resized from the checkpoint's values, not left at their init.
    expected_pos = F.interpolate(official.pos_embed.permute(0, 3, 1, 2), size=(32, 32),
                                 mode='bicubic', align_corners=False).permute(0, 2, 3, 1)
    torch.testing.assert_close(backbone.encoder.pos_embed.data, expected_pos)
    global_attention = backbone.encoder.blocks[1].attn
    assert global_attention.rel_pos_h.shape == (63, 16)
    assert global_attention.rel_pos_h.abs().sum() > 0


def test_non_square_img_size_builds_matching_tables(official_checkpoint):
    _, path = official_checkpoint
    backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=(32, 64), init_cfg=pretrained(path))
    backbone.init_weights()
    assert backbone.encoder.pos_embed.shape == (1, 2, 4, 32)
    assert backbone(torch.randn(1, 3, 32, 64))[0].shape == (1, 256, 2, 4)


@pytest.mark.parametrize('img_size', [100, (64, 60), 0])
def test_bad_img_size_is_a_clear_error(img_size):
    with pytest.raises(ValueError, match='multiples of 16'):
        SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=img_size)


def test_input_not_multiple_of_16_is_a_clear_error():
    backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64)
    with pytest.raises(ValueError, match='multiples of 16'):
        backbone(torch.randn(1, 3, 64, 70))


def test_unknown_arch_and_incomplete_dict_are_clear_errors():
    with pytest.raises(ValueError, match="arch='vit_x' is unknown"):
        SAMFrozenBackbone(arch='vit_x')
    with pytest.raises(ValueError, match='missing'):
        SAMFrozenBackbone(arch=dict(embed_dim=32, depth=2))


def test_vit_b_with_seed_head_has_the_reference_parameter_counts():
    from mmseg_sam.models.decode_heads import ConvTransposeLNHead
    backbone = SAMFrozenBackbone(arch='vit_b')
    head = ConvTransposeLNHead(num_classes=2, out_channels=1, threshold=0.5,
                               loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True))
    parameters = [p for module in (backbone, head) for p in module.parameters()]
    assert sum(p.numel() for p in parameters if p.requires_grad) == 962_273
    assert sum(p.numel() for p in parameters) == 89_845_729


def test_trunk_is_frozen_and_keeps_no_activations():
    backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64)
    backbone.train()
    assert all(not m.training for m in backbone.trunk_modules())
    assert backbone.encoder.neck.training
    assert not backbone.encoder.pos_embed.requires_grad
    images = torch.randn(2, 3, 64, 64)

    def count_saved_tensors(function, *args):
        saved = []
        with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
            function(*args)
        return len(saved)

    trunk_output = backbone.frozen_features(images)[-1]
    assert trunk_output.grad_fn is None and not trunk_output.requires_grad
    # The whole backbone saves exactly what the neck alone saves: nothing from the trunk.
    assert count_saved_tensors(backbone, images) == count_saved_tensors(
        backbone.encoder.neck, trunk_output)


def test_freeze_neck_flag_freezes_everything():
    backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64, freeze_neck=True)
    backbone.train()
    assert not any(p.requires_grad for p in backbone.parameters())
    assert not backbone.encoder.neck.training


def test_out_indices_return_block_features_before_the_neck_output():
    backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64, out_indices=(0,))
    outputs = backbone(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outputs] == [(1, 32, 4, 4), (1, 256, 4, 4)]
    with pytest.raises(ValueError, match='out_indices'):
        SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64, out_indices=(5,))


def test_tiny_vit_stage_outputs_go_through_the_cache_with_the_trunk_output():
    backbone = SAMFrozenBackbone(arch=TINY_TINY_VIT_ARCH, img_size=64, out_indices=(1, 0),
                                 feature_cache=dict(max_memory_mb=8))
    backbone.train()
    images = torch.randn(2, 3, 64, 96)
    first = backbone(images)
    # Stage outputs in stage order (whatever order was asked), then the neck output.
    assert backbone.out_indices == (0, 1)
    assert [tuple(o.shape) for o in first] == [(2, 8, 16, 24), (2, 16, 8, 12), (2, 256, 4, 6)]
    with torch.no_grad():
        expected = backbone.encoder.forward_stages(images, (0, 1))
    # Served as stored: float16, cast back to the input dtype.
    assert torch.equal(first[0], expected[0].half().float())
    assert torch.equal(first[1], expected[1].half().float())
    cache = backbone.feature_cache
    assert cache.stats['misses'] == 2 and len(cache) == 2
    # Every level is stored (float16) and counted against the memory limit.
    level_values = 8 * 16 * 24 + 16 * 8 * 12 + 32 * 4 * 6
    assert cache._memory_bytes == 2 * level_values * 2
    second = backbone(images)
    assert cache.stats['hits'] == 2
    for a, b in zip(first, second):
        torch.testing.assert_close(a, b)
    # Another selection of stages is another cache entry, never a wrong hit.
    other = SAMFrozenBackbone(arch=TINY_TINY_VIT_ARCH, img_size=64, out_indices=(2,))
    other.load_state_dict(backbone.state_dict())
    assert backbone._cache_context(images) != other._cache_context(images)


@pytest.mark.parametrize('arch, out_indices, message', [
    (TINY_TINY_VIT_ARCH, (4,), r'4 stages .* in \[0, 4\)'),
    (TINY_TINY_VIT_ARCH, (1, 1), 'distinct'),
    (TINY_VIT_ARCH, (2,), r'2 blocks .* in \[0, 2\)'),
])
def test_bad_out_indices_name_the_option_and_the_range(arch, out_indices, message):
    prefix = re.escape(f'model.backbone.out_indices={out_indices}')
    with pytest.raises(ValueError, match=f'{prefix}.*{message}'):
        SAMFrozenBackbone(arch=arch, img_size=64, out_indices=out_indices)


def test_detail_stem_trains_and_is_never_cached():
    backbone = SAMFrozenBackbone(arch=TINY_TINY_VIT_ARCH, img_size=64, out_indices=(0,),
                                 detail_stem=dict(channels=(4, 6)),
                                 feature_cache=dict(max_memory_mb=8))
    backbone.train()
    images = torch.randn(2, 3, 64, 96)
    outputs = backbone(images)
    # Frozen stage output, then the stem levels (strides 1 and 2), then the neck output.
    assert [tuple(o.shape) for o in outputs] == [(2, 8, 16, 24), (2, 4, 64, 96),
                                                 (2, 6, 32, 48), (2, 256, 4, 6)]
    stem = [p for n, p in backbone.named_parameters() if n.startswith('detail_stem.')]
    assert stem and all(p.requires_grad for p in stem)
    sum(o.float().square().mean() for o in outputs).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in stem)
    assert not outputs[0].requires_grad  # the frozen level
    # The cache holds the frozen levels only: the stem runs on every call.
    entry = backbone.feature_cache.get(next(iter(backbone.feature_cache._memory)))
    assert [tuple(t.shape) for t in entry] == [(8, 16, 24), (32, 4, 6)]
    with pytest.raises(ValueError, match='detail_stem'):
        SAMFrozenBackbone(arch=TINY_TINY_VIT_ARCH, img_size=64, detail_stem=dict(width=4))
    with pytest.raises(ValueError, match='channels'):
        SAMFrozenBackbone(arch=TINY_TINY_VIT_ARCH, img_size=64, detail_stem=dict(channels=()))


def test_state_dict_of_another_arch_is_refused_even_with_strict_false():
    """torch and MMEngine copy what fits and leave the rest random; ours refuses."""
    backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64)
    deeper = SAMFrozenBackbone(arch=dict(TINY_VIT_ARCH, depth=3, num_heads=1,
                                         global_attn_indexes=(2,)), img_size=64)
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    for strict in (True, False):
        with pytest.raises(RuntimeError, match='does not fit SAMFrozenBackbone') as error:
            backbone.load_state_dict(deeper.state_dict(), strict=strict)
    message = str(error.value)
    assert 'in the checkpoint but not in the model (14):\n    encoder.blocks.2.norm1.weight\n' \
        in message and '... and 4 more' in message
    assert 'wrong shape (4):\n    encoder.blocks.0.attn.rel_pos_h: checkpoint (3, 32) vs ' \
        'model (3, 16)\n' in message
    assert 'Was this checkpoint trained with this config? SAMFrozenBackbone.arch' in message
    # Nothing was copied before the error.
    assert all(torch.equal(before[k], v) for k, v in backbone.state_dict().items())
    # The same arch loads.
    backbone.load_state_dict(SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64).state_dict())


def test_state_dict_of_another_img_size_says_so():
    backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64)
    other = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=128)
    with pytest.raises(RuntimeError, match=r'(?s)encoder\.pos_embed: checkpoint \(1, 8, 8, 32\) '
                                           r'vs model \(1, 4, 4, 32\).*pos_embed has another '
                                           r'grid: SAMFrozenBackbone\.img_size differs'):
        backbone.load_state_dict(other.state_dict())


def test_init_cfg_checkpoint_bypasses_the_model_level_check(official_checkpoint):
    """Our own init path loads the encoder alone (strictly), never through the backbone."""
    official, path = official_checkpoint
    backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64, init_cfg=pretrained(path))
    backbone.init_weights()
    torch.testing.assert_close(backbone.encoder.pos_embed, official.pos_embed)


def test_raw_sam_state_dict_is_refused_with_the_init_cfg_hint(official_checkpoint):
    _, path = official_checkpoint
    backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64)
    raw = torch.load(path, weights_only=True)
    with pytest.raises(RuntimeError, match=r"(?s)Its keys start with 'image_encoder\.': this "
                                           r'is a raw SAM / MobileSAM file.*'
                                           r"model\.backbone\.init_cfg=dict\(type='Pretrained'"):
        backbone.load_state_dict(raw)
