# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Metrics; importing this package registers them in ``mmseg.registry.METRICS``."""
from .per_image_iou_metric import PerImageIoUMetric

__all__ = ['PerImageIoUMetric']
