# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Any image size in test and inference: padded to a multiple of 16, padding removed after."""
import pytest
import torch
from helpers import tiny_model_cfg
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_sam  # noqa: F401

HEIGHT, WIDTH = 45, 70  # what a keep-ratio resize gives; neither side a multiple of 16


def odd_sized_batch():
    image = torch.randint(0, 255, (3, HEIGHT, WIDTH), generator=torch.Generator().manual_seed(0),
                          dtype=torch.uint8)
    sample = SegDataSample(metainfo=dict(img_shape=(HEIGHT, WIDTH), ori_shape=(HEIGHT, WIDTH)))
    return dict(inputs=[image], data_samples=[sample])


def test_base_model_pads_test_inputs_and_crops_the_padding_away(repo_root):
    model = MODELS.build(tiny_model_cfg(repo_root)).eval()
    with torch.no_grad():
        prediction = model.test_step(odd_sized_batch())[0]
        padded = model.data_preprocessor(odd_sized_batch(), False)['inputs']
        padded_logits = model.encode_decode(padded, [dict(img_shape=(48, 80))])
    assert padded.shape[-2:] == (48, 80)
    padding = list(prediction.metainfo['img_padding_size'])  # left, right, top, bottom
    assert padding == [0, 10, 0, 3]
    assert prediction.pred_sem_seg.data.shape == (1, HEIGHT, WIDTH)
    # Cropped, not resized: the scores equal the top-left part of the padded input's (MMSeg
    # stores sigmoid scores for a one-logit head).
    torch.testing.assert_close(prediction.seg_logits.data,
                               padded_logits[0, :, :HEIGHT, :WIDTH].sigmoid())


def test_without_test_padding_the_backbone_refuses_the_size(repo_root):
    cfg = tiny_model_cfg(repo_root)
    cfg['data_preprocessor']['test_cfg'] = None
    model = MODELS.build(cfg).eval()
    with pytest.raises(ValueError, match=r'multiples of 16, got \(1, 3, 45, 70\)'):
        with torch.no_grad():
            model.test_step(odd_sized_batch())
