# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""The README's "Your own data" commands, end to end on CPU: convert -> train -> test.

The raw data is what users bring: images of odd sizes, 0/255 masks, one image without a
mask. The config is a user's own, in a folder outside the repository, inheriting the README's
template through ``mmseg_sam.config_path``; it only shrinks the model (a tiny random SAM
encoder, written as an official checkpoint), the input size and the schedule for a CPU test.
"""
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import (
    TINY_VIT_ARCH,
    load_script,
    official_tiny_encoder,
    write_official_sam_checkpoint,
)

pytestmark = pytest.mark.slow

TEMPLATE = 'folder/convtrans-ln_sam-vit-t-frozen_1xb2-500_folder-binary-1024x1024.py'
SIZES = [(45, 70), (37, 81), (64, 48), (50, 50), (33, 90), (40, 61), (71, 44), (52, 66)]


def write_raw_folders(root: Path) -> None:
    """Images of odd sizes with a red board, 0/255 masks, and one image without a mask."""
    rng = np.random.default_rng(0)
    (root / 'images').mkdir(parents=True)
    (root / 'masks').mkdir()
    for index, (height, width) in enumerate(SIZES):
        image = rng.integers(0, 120, (height, width, 3), dtype=np.uint8)
        mask = np.zeros((height, width), np.uint8)
        mask[height // 4:height // 2, width // 5:width // 2] = 255
        image[mask > 0] = (40, 40, 220)
        cv2.imwrite(str(root / 'images' / f'frame_{index}.jpg'), image)
        if index != 3:  # frame_3 has no mask
            cv2.imwrite(str(root / 'masks' / f'frame_{index}.png'), mask)


def write_user_config(path: Path, checkpoint: Path) -> Path:
    path.write_text(f"""
_base_ = [__import__('mmseg_sam').config_path({TEMPLATE!r})]
model = dict(
    data_preprocessor=dict(size=(64, 64), test_cfg=dict(_delete_=True, size=(64, 64))),
    backbone=dict(arch={dict(TINY_VIT_ARCH, _delete_=True)!r}, img_size=64,
                  init_cfg=dict(type='Pretrained', checkpoint={str(checkpoint)!r})))
img_scale = (64, 64)
train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                  dict(type='Resize', scale=img_scale, keep_ratio=True),
                  dict(type='PackSegInputs')]
test_pipeline = [dict(type='LoadImageFromFile'),
                 dict(type='Resize', scale=img_scale, keep_ratio=True),
                 dict(type='LoadAnnotations'), dict(type='PackSegInputs')]
loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(**loader, dataset=dict(dataset=dict(pipeline=train_pipeline)))
val_dataloader = dict(**loader, dataset=dict(dataset=dict(pipeline=test_pipeline)))
test_dataloader = dict(**loader, dataset=dict(pipeline=test_pipeline))
train_cfg = dict(max_iters=4, val_interval=2)
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
""")
    return path


def test_convert_train_test_on_a_users_folder(repo_root, tmp_path, monkeypatch, caplog):
    write_raw_folders(tmp_path / 'raw')
    data = tmp_path / 'data' / 'my_task'
    # 1. python tools/dataset_converters/folder.py my_images/ my_masks/ --out-dir data/my_task
    converter = load_script(repo_root / 'tools/dataset_converters/folder.py')
    assert converter.main([str(tmp_path / 'raw/images'), str(tmp_path / 'raw/masks'),
                           '--out-dir', str(data), '--test-fraction', '0.3']) == 0
    assert 'frame_3.jpg' in caplog.text  # the unpaired image is named
    test_stems = sorted(p.stem for p in (data / 'img_dir/test').iterdir())
    assert len(test_stems) == 2 and len(list((data / 'img_dir/train').iterdir())) == 5

    project = tmp_path / 'my_project'
    project.mkdir()
    config = write_user_config(
        project / 'my_task.py', write_official_sam_checkpoint(
            project / 'sam_tiny.pth', official_tiny_encoder(img_size=64)))
    monkeypatch.setenv('FOLDER_DATA_ROOT', str(data))
    monkeypatch.chdir(project)
    # 2. FOLDER_DATA_ROOT=data/my_task python tools/train.py CONFIG
    load_script(repo_root / 'tools/train.py').main([str(config)])
    work_dir = project / 'work_dirs' / 'my_task'
    best = list(work_dir.glob('best_per_image_fg_iou_iter_*.pth'))
    assert len(best) == 1
    log = '\n'.join(p.read_text() for p in work_dir.rglob('*.log'))
    assert 'Masks checked: train_dataloader.dataset, 4 mask(s) fit the head' in log
    # 3. FOLDER_DATA_ROOT=data/my_task python tools/test.py CONFIG best_*.pth --show-dir --out
    metrics = load_script(repo_root / 'tools/test.py').main([
        str(config), str(best[0]), '--show-dir', str(project / 'overlays'),
        '--out', str(project / 'masks')])
    assert {'mIoU', 'per_image_fg_iou'} <= set(metrics)
    assert 0 <= metrics['per_image_fg_iou'] <= 100
    overlays = sorted(project.glob('overlays/**/*.png'))
    assert len(overlays) == 2
    for stem in test_stems:
        height, width = SIZES[int(stem.split('_')[1])]
        mask = cv2.imread(str(project / 'masks' / f'{stem}.png'), cv2.IMREAD_UNCHANGED)
        assert mask.shape == (height, width)  # the original size, padding removed
        assert set(np.unique(mask).tolist()) <= {0, 1}


def test_0_255_masks_without_conversion_are_refused_before_training(repo_root, tmp_path,
                                                                    monkeypatch):
    """The same raw masks, copied into the layout by hand instead of converted."""
    write_raw_folders(tmp_path / 'raw')
    data = tmp_path / 'data'
    converter = load_script(repo_root / 'tools/dataset_converters/folder.py')
    assert converter.main([str(tmp_path / 'raw/images'), str(tmp_path / 'raw/masks'),
                           '--out-dir', str(data)]) == 0
    for mask in (data / 'ann_dir').rglob('*.png'):
        cv2.imwrite(str(mask), cv2.imread(str(mask), cv2.IMREAD_UNCHANGED) * 255)
    config = write_user_config(tmp_path / 'my_task.py', write_official_sam_checkpoint(
        tmp_path / 'sam_tiny.pth', official_tiny_encoder(img_size=64)))
    monkeypatch.setenv('FOLDER_DATA_ROOT', str(data))
    from mmseg_sam.datasets.mask_check import MaskCheckError
    with pytest.raises(MaskCheckError, match='hold only 0 and 255'):
        load_script(repo_root / 'tools/train.py').main([str(config), '--work-dir',
                                                        str(tmp_path / 'work')])
    assert not list((tmp_path / 'work').rglob('*.pth'))
