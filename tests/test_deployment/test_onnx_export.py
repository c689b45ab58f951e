# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""ONNX export of a tiny promptless segmentor, checked with onnxruntime against PyTorch."""
import cv2
import numpy as np
import pytest
import torch
from helpers import TINY_TINY_VIT_ARCH, TINY_VIT_ARCH, tiny_model_cfg
from mmengine.config import Config
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

pytest.importorskip('onnxruntime')
pytest.importorskip('onnxscript')

from mmseg_sam.deployment import (  # noqa: E402
    RawImageSegmentor,
    check_parity,
    export_onnx,
    onnx_session,
    prepare_image,
    supports_dynamic_size,
)


def tiny_segmentor(repo_root, arch, detail_head=False):
    """A tiny LoRA segmentor; ``detail_head``: with the frozen stage skips of
    ``configs/_base_/models/convtrans-ln-detail_sam-vit-t.py`` (TinyViT only)."""
    cfg = tiny_model_cfg(repo_root)
    cfg['backbone']['arch'] = dict(arch)  # replaced, not merged into the tiny ViT's dict
    cfg['backbone']['lora'] = dict(rank=2, targets=('q', 'v', 'proj'))
    if detail_head:
        widths = arch['embed_dims']
        cfg['backbone']['out_indices'] = (0, 1)
        cfg['decode_head'].update(in_index=2, skips=[
            dict(in_index=0, in_channels=widths[0], stride=4),
            dict(in_index=1, in_channels=widths[1], stride=8)])
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    with torch.no_grad():  # trained-looking LoRA factors and skips, so they are in the graph
        for name, parameter in model.named_parameters():
            if '.lora_' in name or 'skip_projections' in name:
                parameter.normal_(0, 0.2)
    return model.eval()


def test_wrapper_is_the_segmentor_on_raw_rgb(repo_root):
    segmentor = tiny_segmentor(repo_root, TINY_TINY_VIT_ARCH)
    wrapper = RawImageSegmentor.from_segmentor(segmentor).eval()
    images = torch.randint(0, 256, (2, 3, 64, 48), dtype=torch.uint8)
    metainfo = dict(img_shape=(64, 48), ori_shape=(64, 48))
    samples = segmentor.data_preprocessor(dict(  # MMSeg's inputs are BGR, as mmcv reads files
        inputs=list(images.flip(1)), data_samples=[SegDataSample(metainfo=metainfo)] * 2),
        False)
    with torch.no_grad():
        expected = segmentor._forward(samples['inputs'])
        logits, mask = wrapper(images.float())
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=0)
    assert torch.equal(mask, (expected.sigmoid() > 0.5).squeeze(1).long())


@pytest.mark.slow  # about 25 s each on an idle 2-core CPU, most of it in torch.export
@pytest.mark.parametrize('detail_head', [False, True], ids=['seed_head', 'detail_head'])
def test_tiny_vit_export_with_dynamic_batch_and_size_matches_pytorch(repo_root, tmp_path,
                                                                     detail_head):
    segmentor = tiny_segmentor(repo_root, TINY_TINY_VIT_ARCH, detail_head)
    if detail_head:  # the skips change the logits, so the graph holds them
        plain = tiny_segmentor(repo_root, TINY_TINY_VIT_ARCH)
        image = torch.rand(1, 3, 64, 64)
        with torch.no_grad():
            assert not torch.allclose(segmentor._forward(image), plain._forward(image))
    assert supports_dynamic_size(segmentor)[0]
    wrapper = RawImageSegmentor.from_segmentor(segmentor).eval()
    rng = np.random.default_rng(0)
    example = torch.from_numpy(rng.uniform(0, 255, (2, 3, 64, 64)).astype(np.float32))
    path = export_onnx(wrapper, tmp_path / 'tiny.onnx', example, dynamic_size=True)
    session = onnx_session(path, threads=2)
    # Other batch sizes and sizes than the traced one, including window padding (48 x 80).
    batches = [rng.uniform(0, 255, shape).astype(np.float32)
               for shape in [(1, 3, 64, 64), (3, 3, 64, 64), (1, 3, 48, 80)]]
    report = check_parity(session, wrapper, batches, atol=1e-4)
    assert report.passed, report
    assert report.mask_agreement > 0.999, report
    assert report.shapes == [b.shape for b in batches]
    assert 'PASS' in str(report) and 'tolerance 0.0001' in str(report)


def test_sam_vit_is_exported_at_a_fixed_size(repo_root):
    allowed, reason = supports_dynamic_size(tiny_segmentor(repo_root, TINY_VIT_ARCH))
    assert not allowed and 'relative-position' in reason


def test_prepare_image_is_rgb_and_pads_with_the_mean(tmp_path):
    bgr = np.random.default_rng(0).integers(0, 256, (40, 70, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / 'frame.png'), bgr)
    mean = [123.675, 116.28, 103.53]
    cfg = Config(dict(test_pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                                     dict(type='PackSegInputs')],
                      model=dict(data_preprocessor=dict(mean=mean, bgr_to_rgb=True))))
    image = prepare_image(tmp_path / 'frame.png', cfg)
    assert image.shape == (3, 48, 80) and image.dtype == np.float32
    np.testing.assert_array_equal(image[:, :40, :70], bgr[..., ::-1].transpose(2, 0, 1))
    # Padding with the mean is what the preprocessor's zero padding after normalising means.
    np.testing.assert_allclose(image[:, 40:, :], np.broadcast_to(
        np.float32(mean)[:, None, None], (3, 8, 80)))


def test_export_builds_a_float32_uncompiled_trunk_whatever_the_config_says(repo_root):
    """A bf16 or compiled trunk would put autocast casts into the graph or fail to trace."""
    from mmseg_sam.deployment.onnx_export import build_segmentor
    config = (repo_root / 'configs/sam_frozen/'
              'convtrans-ln_sam-vit-b-frozen_1xb2-500_football-adboard-576x1024.py')
    segmentor, _ = build_segmentor(config, None, {
        'model.backbone.arch': dict(TINY_VIT_ARCH, _delete_=True), 'model.backbone.img_size': 64,
        'model.backbone.init_cfg': None, 'model.backbone.trunk_precision': 'bf16',
        'model.backbone.compile_trunk': True})
    backbone = segmentor.backbone
    assert (backbone.trunk_precision, backbone.compile_trunk) == ('fp32', False)
    assert backbone.trunk_attention == 'official' and backbone.feature_cache is None
