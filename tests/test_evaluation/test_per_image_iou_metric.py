# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Hand-computed checks of PerImageIoUMetric."""
from __future__ import annotations

import math

import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import PixelData
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample

from mmseg_sam.evaluation.per_image_iou_metric import PerImageIoUMetric


def sample(pred: list, gt: list) -> dict:
    """A data sample as MMSeg's evaluation passes it: dicts with (1, H, W) label maps."""
    return {'pred_sem_seg': {'data': torch.tensor([pred])},
            'gt_sem_seg': {'data': torch.tensor([gt])}}


# Image 1: the ignored pixel (1, 1) is foreground in the prediction but must not count.
#   pred fg (valid): (0,0) (1,0) (1,2); gt fg: (0,0) (0,1) (1,2) -> I = 2, U = 4, IoU = 0.5
IMG1 = sample(pred=[[1, 0, 0], [1, 1, 1]], gt=[[1, 1, 0], [0, 255, 1]])
# Image 2: no foreground anywhere -> empty image (IoU = empty_score).
IMG2 = sample(pred=[[0, 0], [0, 0]], gt=[[0, 0], [0, 0]])
# Image 3: I = 1, U = 4 -> 0.25
IMG3 = sample(pred=[[1, 0], [0, 0]], gt=[[1, 1], [1, 1]])


def run(metric: PerImageIoUMetric, samples: list) -> dict:
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def test_three_images_with_empty_and_ignore():
    result = run(PerImageIoUMetric(), [IMG1, IMG2, IMG3])
    assert result['per_image_fg_iou'] == pytest.approx(100 * (0.5 + 1.0 + 0.25) / 3)
    assert result['num_images'] == 3 and result['num_empty_images'] == 1
    # Over the set: all intersections over all unions (I, U above), not a mean of ratios.
    assert result['dataset_fg_iou'] == pytest.approx(100 * (2 + 0 + 1) / (4 + 0 + 4))
    assert result['dataset_fg_iou'] != pytest.approx(result['per_image_fg_iou'])


def test_empty_score_options():
    assert run(PerImageIoUMetric(empty_score=None), [IMG1, IMG2, IMG3])[
        'per_image_fg_iou'] == pytest.approx(100 * (0.5 + 0.25) / 2)
    assert run(PerImageIoUMetric(empty_score=0.0), [IMG1, IMG2, IMG3])[
        'per_image_fg_iou'] == pytest.approx(100 * 0.75 / 3)
    assert math.isnan(run(PerImageIoUMetric(empty_score=None), [IMG2])['per_image_fg_iou'])


def test_multiclass_foreground_index():
    # Image 1 with labels 3 (Advertisement) among others: same pattern -> 0.5. A prediction of
    # another class (4) is background for class 3, and gt class 0 is an ordinary class.
    img = sample(pred=[[3, 4, 4], [3, 3, 3]], gt=[[3, 3, 4], [0, 255, 3]])
    # Image 2: class 3 only in the prediction -> I = 0, U = 2 -> 0.0
    img2 = sample(pred=[[3, 3], [1, 0]], gt=[[1, 1], [1, 0]])
    result = run(PerImageIoUMetric(foreground_index=3), [img, img2])
    assert result['per_image_fg_iou'] == pytest.approx(100 * (0.5 + 0.0) / 2)


def test_registry_prefix_and_evaluator_with_seg_data_samples():
    metric = METRICS.build(dict(type='PerImageIoUMetric', prefix='adboard'))
    evaluator = Evaluator(metric)
    samples = []
    for s in (IMG1, IMG3):
        ds = SegDataSample()
        ds.pred_sem_seg = PixelData(data=s['pred_sem_seg']['data'])
        ds.gt_sem_seg = PixelData(data=s['gt_sem_seg']['data'])
        samples.append(ds)
    evaluator.process(samples)
    result = evaluator.evaluate(2)
    assert result['adboard/per_image_fg_iou'] == pytest.approx(100 * 0.75 / 2)
    assert result['adboard/num_images'] == 2


def test_bad_arguments_and_shapes():
    with pytest.raises(ValueError, match='foreground_index'):
        PerImageIoUMetric(foreground_index=255)
    with pytest.raises(ValueError, match='empty_score'):
        PerImageIoUMetric(empty_score=2.0)
    bad = sample(pred=[[1, 0, 0], [0, 0, 0]], gt=[[1, 0], [0, 0]])
    with pytest.raises(ValueError, match='shape'):
        PerImageIoUMetric().process({}, [bad])


def test_boundary_error_share_splits_outline_errors_from_missed_regions():
    # Ground truth: one 4x4 square in a 16x16 image, and a second image without foreground.
    gt = torch.zeros(16, 16, dtype=torch.long)
    gt[2:6, 2:6] = 1
    # Prediction: the square one pixel too wide to the right (4 wrong pixels, all on the
    # edge) and an invented 3x3 blob far away (9 wrong pixels, none near a true edge).
    pred = gt.clone()
    pred[2:6, 6] = 1
    pred[11:14, 11:14] = 1
    empty_gt = torch.zeros(16, 16, dtype=torch.long)
    empty_pred = torch.zeros(16, 16, dtype=torch.long)
    empty_pred[0, 0] = 1  # one wrong pixel; no edge in this image at all
    samples = [sample(pred.tolist(), gt.tolist()), sample(empty_pred.tolist(), empty_gt.tolist())]
    result = run(PerImageIoUMetric(boundary_band=1), samples)
    assert result['boundary_error_share'] == pytest.approx(100 * 4 / (4 + 9 + 1))
    # A band wide enough to reach the blob (its corner (11, 11) is 6 rows and columns from
    # the square's corner (5, 5)) counts that pixel too.
    wide = run(PerImageIoUMetric(boundary_band=6), samples)
    assert wide['boundary_error_share'] == pytest.approx(100 * 5 / 14)
    perfect = run(PerImageIoUMetric(), [sample(gt.tolist(), gt.tolist())])
    assert math.isnan(perfect['boundary_error_share'])
    with pytest.raises(ValueError, match='boundary_band'):
        PerImageIoUMetric(boundary_band=0)
