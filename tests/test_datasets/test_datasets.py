# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""AdBoardDataset and FootballDataset load converter output through MMSeg's registry."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

# Imported for registration; the classes themselves are built through the registry below.
from mmseg_sam.datasets.adboard import AdBoardDataset
from mmseg_sam.datasets.football import FOOTBALL_CLASS_TABLE, FootballDataset

REPO = Path(__file__).resolve().parents[2]
H, W = 6, 8
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]


def load_script(name: str) -> ModuleType:
    """Import tools/dataset_converters/<name>.py as a module (tools/ is not a package)."""
    mod_name = f'{name}_converter_for_dataset_tests'
    if mod_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            mod_name, REPO / 'tools' / 'dataset_converters' / f'{name}.py')
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module  # before exec, for dataclasses
        spec.loader.exec_module(module)
    return sys.modules[mod_name]


@pytest.fixture(scope='module', autouse=True)
def mmseg_scope():
    # Makes 'LoadAnnotations' etc. resolve in mmseg's transform registry (registered by the
    # import of mmseg.datasets above). Cheaper than mmseg.utils.register_all_modules, which
    # also imports all of mmseg.models.
    init_default_scope('mmseg')


def test_adboard_dataset_loads_kaggle_conversion(tmp_path):
    conv = load_script('adboard')
    img_dir = tmp_path / 'kaggle' / 'Tagged_Images' / 'Tagged Images'
    mask_dir = tmp_path / 'kaggle' / 'Masks' / 'Masks'
    img_dir.mkdir(parents=True)
    mask_dir.mkdir(parents=True)
    for n in (10, 20, 30, 40, 5000):
        cv2.imwrite(str(img_dir / f'frame_{n}.jpg'), np.zeros((H, W, 3), np.uint8))
        mask = np.zeros((H, W), np.uint8)
        mask[:2] = 255
        cv2.imwrite(str(mask_dir / f'mask_{n}.png'), mask)
    out = tmp_path / 'adboard'
    conv.convert_adboard(tmp_path / 'kaggle', out, train_fraction=0.5)

    dataset = DATASETS.build(dict(
        type='AdBoardDataset', data_root=str(out),
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=PIPELINE))
    assert isinstance(dataset, AdBoardDataset)
    assert len(dataset) == 2
    assert dataset.metainfo['classes'] == ('background', 'adboard')
    gt = dataset[0]['data_samples'].gt_sem_seg.data
    assert tuple(gt.shape) == (1, H, W)
    assert gt[0, :2].eq(1).all() and gt[0, 2:].eq(0).all()


def test_football_datasets_load_both_roots(tmp_path):
    conv = load_script('football')
    raw = tmp_path / 'raw'
    index = np.arange(H * W, dtype=np.uint8).reshape(H, W) % 12
    index[index == 6] = 3  # class 6 has no mask colour
    rgba = np.zeros((H, W, 4), np.uint8)
    for i, cls in enumerate(FOOTBALL_CLASS_TABLE):
        if cls.mask_rgb is not None:
            rgba[index == i, :3] = cls.mask_rgb
    rgba[..., 3] = 255
    for split, n in (('Train', 11), ('Train', 12), ('Test', 1)):
        (raw / f'original{split}').mkdir(parents=True, exist_ok=True)
        (raw / f'segmentation{split}').mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(raw / f'original{split}' / f'Frame 1  ({n}).jpg'),
                    np.zeros((H, W, 3), np.uint8))
        cv2.imwrite(str(raw / f'segmentation{split}' / f'Frame 1  ({n}).jpg___fuse.png'),
                    cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    conv.convert_football(raw, tmp_path / 'data')

    football = DATASETS.build(dict(
        type='FootballDataset', data_root=str(tmp_path / 'data' / 'football'),
        data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=PIPELINE))
    assert isinstance(football, FootballDataset)
    assert len(football) == 2
    assert len(football.metainfo['classes']) == 12
    assert football.metainfo['classes'][3] == 'Advertisement'
    np.testing.assert_array_equal(football[0]['data_samples'].gt_sem_seg.data[0].numpy(), index)

    adboard = DATASETS.build(dict(
        type='AdBoardDataset', data_root=str(tmp_path / 'data' / 'football_adboard'),
        data_prefix=dict(img_path='img_dir/test', seg_map_path='ann_dir/test'),
        pipeline=PIPELINE))
    assert len(adboard) == 1
    np.testing.assert_array_equal(adboard[0]['data_samples'].gt_sem_seg.data[0].numpy(),
                                  (index == 3).astype(np.uint8))


def test_palettes_and_reduce_zero_label_refused(tmp_path):
    palette = FootballDataset.METAINFO['palette']
    mask_colours = [list(c.mask_rgb) for c in FOOTBALL_CLASS_TABLE if c.mask_rgb]
    # Class 6 never occurs; its drawing colour must not be mistaken for a mask colour.
    assert palette[6] not in mask_colours
    assert len({tuple(c) for c in palette}) == 12
    for name in ('AdBoardDataset', 'FootballDataset'):
        with pytest.raises(ValueError, match='reduce_zero_label'):
            DATASETS.build(dict(type=name, data_root=str(tmp_path), reduce_zero_label=True))
