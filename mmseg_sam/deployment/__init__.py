# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Deployment of trained models (ONNX export); not imported by ``import mmseg_sam``, so that
training needs none of the export packages."""
from .onnx_export import (
    DEFAULT_ATOL,
    ExportResult,
    ParityReport,
    RawImageSegmentor,
    SpeedReport,
    build_segmentor,
    check_parity,
    export_and_check,
    export_onnx,
    images_of_test_set,
    measure_speed,
    onnx_session,
    prepare_image,
    supports_dynamic_size,
)

__all__ = ['DEFAULT_ATOL', 'ExportResult', 'ParityReport', 'RawImageSegmentor', 'SpeedReport',
           'build_segmentor', 'check_parity', 'export_and_check', 'export_onnx',
           'images_of_test_set', 'measure_speed', 'onnx_session', 'prepare_image',
           'supports_dynamic_size']
