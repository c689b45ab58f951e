# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Foreground IoU computed per image and averaged over images (the reference's metric).

MMSeg's ``IoUMetric`` sums intersections and unions over the whole dataset before dividing,
so large boards dominate. The reference instead scores every image on its own and averages the
scores, so each frame counts equally, including frames with small or no boards.
"""
from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmseg.registry import METRICS


@METRICS.register_module()
class PerImageIoUMetric(BaseMetric):
    """Mean over images of the IoU of one class (the foreground).

    For every image with prediction ``P`` and ground truth ``G`` (both label maps, shape
    (H, W)) and ``V = (G != ignore_index)``::

        I = |(P == fg) & (G == fg) & V|
        U = |((P == fg) | (G == fg)) & V|
        IoU = I / U          if U > 0
            = empty_score    if U == 0 (neither prediction nor ground truth has foreground)

    The result is the mean of the per-image IoUs, in percent (0-100) like MMSeg's ``mIoU``.
    Works for binary masks (``foreground_index=1``) and for one class of a multi-class dataset
    (e.g. ``foreground_index=3``, Advertisement in ``FootballDataset``): prediction and ground
    truth are both compared with ``foreground_index``.

    Args:
        foreground_index: Label value of the class to score. Default: 1.
        ignore_index: Ground-truth value whose pixels are excluded from both prediction and
            ground truth. Default: 255.
        empty_score: IoU given to an image where neither prediction nor ground truth contains
            the foreground, in [0, 1]. Default 1.0: predicting "no board" on a board-free frame
            is a perfect answer. ``None`` leaves such images out of the mean.
        boundary_band: Half-width in pixels of the band around the ground-truth foreground's
            edges used by ``boundary_error_share``. Default: 3.
        collect_device: Device used to collect results across ranks (``'cpu'`` or ``'gpu'``).
        prefix: Prefix of the output keys (``'<prefix>/per_image_fg_iou'``); ``None`` for none.

    Output keys:
        ``per_image_fg_iou``: mean per-image IoU in percent (NaN if no image was scored).
        ``dataset_fg_iou``: the same class's IoU over the whole set (all intersections over
            all unions, in percent; NaN without foreground anywhere), the number MMSeg's
            ``IoUMetric`` prints in its per-class table, here also in the JSON outputs.
        ``boundary_error_share``: percent of all wrong foreground/background pixels (over
            the set) that lie within ``boundary_band`` pixels of a ground-truth edge: near
            100 means the masks are right but their outlines are off; low values mean whole
            regions are missed or invented (NaN without any wrong pixel).
        ``num_images``: number of images evaluated.
        ``num_empty_images``: images without foreground in both prediction and ground truth.
    """

    def __init__(self,
                 foreground_index: int = 1,
                 ignore_index: int = 255,
                 empty_score: float | None = 1.0,
                 boundary_band: int = 3,
                 collect_device: str = 'cpu',
                 prefix: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, **kwargs)
        if foreground_index == ignore_index:
            raise ValueError(f'PerImageIoUMetric: foreground_index ({foreground_index}) must '
                             f'differ from ignore_index ({ignore_index})')
        if empty_score is not None and not 0.0 <= empty_score <= 1.0:
            raise ValueError(f'PerImageIoUMetric: empty_score must be in [0, 1] or None, got '
                             f'{empty_score}')
        if not isinstance(boundary_band, int) or boundary_band < 1:
            raise ValueError(f'PerImageIoUMetric: boundary_band must be a positive int (pixels), '
                             f'got {boundary_band!r}')
        self.boundary_band = boundary_band
        self.foreground_index = foreground_index
        self.ignore_index = ignore_index
        self.empty_score = empty_score

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Store the intersection and union of each image of the batch.

        Args:
            data_batch: The batch from the dataloader (unused).
            data_samples: MMSeg data samples as dicts, each with ``pred_sem_seg['data']`` and
                ``gt_sem_seg['data']``, label maps of shape (1, H, W) or (H, W).
        """
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'].squeeze()
            gt = sample['gt_sem_seg']['data'].squeeze().to(pred.device)
            if pred.shape != gt.shape:
                raise ValueError(
                    f'PerImageIoUMetric: prediction shape {tuple(pred.shape)} != ground-truth '
                    f'shape {tuple(gt.shape)} for {sample.get("img_path", "an image")}')
            valid = gt != self.ignore_index
            pred_fg = (pred == self.foreground_index) & valid
            gt_fg = (gt == self.foreground_index) & valid
            # Plain ints keep the stored results tiny and device-free for collection.
            inter = int(torch.count_nonzero(pred_fg & gt_fg))
            union = int(torch.count_nonzero(pred_fg | gt_fg))
            wrong = (pred_fg != gt_fg) & valid
            wrong_near_edge = int(torch.count_nonzero(wrong & self._edge_band(gt_fg)))
            self.results.append((inter, union, int(torch.count_nonzero(wrong)), wrong_near_edge))

    def _edge_band(self, mask: torch.Tensor) -> torch.Tensor:
        """Pixels within ``boundary_band`` of an edge of ``mask`` (H, W): dilation minus
        erosion by a (2 * band + 1) square, both computed by max pooling."""
        size = 2 * self.boundary_band + 1
        as_float = mask[None, None].float()
        dilated = F.max_pool2d(as_float, size, stride=1, padding=self.boundary_band)
        eroded = -F.max_pool2d(-as_float, size, stride=1, padding=self.boundary_band)
        return (dilated != eroded)[0, 0]

    def compute_metrics(self, results: List[Tuple[int, int, int, int]]) -> Dict[str, float]:
        """Average the per-image IoUs.

        Args:
            results: ``(intersection, union, wrong, wrong_near_edge)`` pixel counts per image,
                from all ranks.

        Returns:
            ``per_image_fg_iou``, ``dataset_fg_iou`` and ``boundary_error_share`` (percent),
            ``num_images`` and ``num_empty_images``.
        """
        scores = []
        num_empty = 0
        for inter, union, _, _ in results:
            if union > 0:
                scores.append(inter / union)
            else:
                num_empty += 1
                if self.empty_score is not None:
                    scores.append(float(self.empty_score))
        mean = float(np.mean(scores)) * 100.0 if scores else float('nan')
        total_union = sum(result[1] for result in results)
        dataset_iou = (100.0 * sum(result[0] for result in results) / total_union
                       if total_union else float('nan'))
        total_wrong = sum(result[2] for result in results)
        edge_share = (100.0 * sum(result[3] for result in results) / total_wrong
                      if total_wrong else float('nan'))
        return {
            'per_image_fg_iou': mean,
            'dataset_fg_iou': dataset_iou,
            'boundary_error_share': edge_share,
            'num_images': len(results),
            'num_empty_images': num_empty,
        }
