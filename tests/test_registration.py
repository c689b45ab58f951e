# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
import subprocess
import sys

import numpy as np
import pytest


def test_import_registers_every_module_in_mmseg_registries():
    from mmseg.registry import DATASETS, HOOKS, METRICS, MODELS, TRANSFORMS

    import mmseg_sam  # noqa: F401
    expected = {
        MODELS: ['SAMFrozenBackbone', 'ConvTransposeLNHead', 'SoftDiceLoss'],
        DATASETS: ['AdBoardDataset', 'FolderSegDataset', 'FootballDataset',
                   'SeededSubsetDataset'],
        METRICS: ['PerImageIoUMetric'],
        HOOKS: ['FrozenFeatureCacheHook', 'MaskCheckHook', 'RngStateHook',
                'TrainableOnlyCheckpointHook'],
        TRANSFORMS: ['BinarizeMask'],
    }
    for registry, names in expected.items():
        for name in names:
            assert name in registry.module_dict, f'{name} not in mmseg {registry.name}'


def test_import_is_light():
    """Importing builds no model and reads no file besides modules (no downloads)."""
    code = ('import sys, torch; calls = []; '
            'torch.load = lambda *a, **k: calls.append(a); '
            'import mmseg_sam; print(len(calls), "segment_anything" in sys.modules)')
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split()[0] == '0'


def test_binarize_mask_maps_0_255_and_rejects_other_values():
    from mmseg_sam.datasets import BinarizeMask
    results = BinarizeMask()(dict(gt_seg_map=np.array([[0, 255], [255, 0]], np.uint8)))
    assert results['gt_seg_map'].tolist() == [[0, 1], [1, 0]]
    with pytest.raises(ValueError, match=r'masks/a\.png: values \[128\]'):
        BinarizeMask()(dict(gt_seg_map=np.array([[0, 128]], np.uint8),
                            seg_map_path='masks/a.png'))
    kept = BinarizeMask(foreground_value=1, allowed_values=(0, 1, 255), ignore_value=255)(
        dict(gt_seg_map=np.array([[0, 1, 255]], np.uint8)))
    assert kept['gt_seg_map'].tolist() == [[0, 1, 255]]
    with pytest.raises(ValueError, match='ignore_value=255 equals foreground_value'):
        BinarizeMask(ignore_value=255)
