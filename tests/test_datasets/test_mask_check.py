# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Masks that do not fit the head are refused before a run, naming the files."""
import io
import json
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmengine.runner import BaseLoop
from mmseg.registry import DATASETS
from PIL import Image

from mmseg_sam.datasets.mask_check import MaskCheckError, check_dataset_masks
from mmseg_sam.engine.hooks import MaskCheckHook

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')]


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def write_pair(root: Path, name: str, mask: np.ndarray, image_hw=None) -> None:
    (root / 'img_dir' / 'train').mkdir(parents=True, exist_ok=True)
    (root / 'ann_dir' / 'train').mkdir(parents=True, exist_ok=True)
    height, width = image_hw or mask.shape[:2]
    cv2.imwrite(str(root / 'img_dir' / 'train' / f'{name}.jpg'),
                np.full((height, width, 3), 90, np.uint8))
    cv2.imwrite(str(root / 'ann_dir' / 'train' / f'{name}.png'), mask)


def build(root: Path, pipeline=PIPELINE, classes=('background', 'board')):
    (root / 'dataset_meta.json').write_text(json.dumps(dict(
        classes=list(classes), palette=[[0, 0, 0]] * len(classes), img_suffix='.jpg',
        seg_map_suffix='.png')))
    return DATASETS.build(dict(type='FolderSegDataset', data_root=str(root),
                               data_prefix=dict(img_path='img_dir/train',
                                                seg_map_path='ann_dir/train'),
                               pipeline=pipeline))


def blob(value: int, shape=(9, 13)) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[2:5, 3:8] = value
    return mask


def test_fitting_masks_pass_and_report_label_shares(tmp_path):
    write_pair(tmp_path, 'a', blob(1))
    ignore = blob(1)
    ignore[0, 0] = 255
    write_pair(tmp_path, 'b', ignore)
    report = check_dataset_masks(build(tmp_path), 2, 255, 'train_dataloader.dataset',
                                 require_foreground=True)
    assert report.num_masks == 2
    assert report.label_pixels == {0: 2 * 9 * 13 - 30 - 1, 1: 30, 255: 1}


def test_0_255_masks_in_a_binary_task_are_refused_with_the_fix(tmp_path):
    write_pair(tmp_path, 'a', blob(255))
    write_pair(tmp_path, 'b', blob(255))
    with pytest.raises(MaskCheckError, match=r"train_dataloader.dataset: the masks hold only 0 "
                                             r"and 255.*folder\.py.*BinarizeMask"):
        check_dataset_masks(build(tmp_path), 2, 255, 'train_dataloader.dataset')


def test_binarize_mask_in_the_pipeline_is_applied_before_checking(tmp_path):
    write_pair(tmp_path, 'a', blob(255))
    pipeline = PIPELINE[:2] + [dict(type='BinarizeMask')] + PIPELINE[2:]
    report = check_dataset_masks(build(tmp_path, pipeline), 2, 255, 'train')
    assert report.label_pixels[1] == 15


def test_values_outside_the_classes_name_the_file(tmp_path):
    write_pair(tmp_path, 'a', blob(1))
    write_pair(tmp_path, 'b', blob(3))
    with pytest.raises(MaskCheckError) as err:
        check_dataset_masks(build(tmp_path), 2, 255, 'train')
    message = str(err.value)
    assert 'ann_dir/train/b.png: values [3] are neither classes of the head (0..1)' in message
    assert 'a.png' not in message and 'num_classes' in message


def test_mask_of_another_size_than_its_image_is_refused(tmp_path):
    write_pair(tmp_path, 'a', blob(1), image_hw=(10, 13))
    with pytest.raises(MaskCheckError, match=r'a\.png: mask is 13x9 but its image .*a\.jpg is '
                                             r'13x10'):
        check_dataset_masks(build(tmp_path), 2, 255, 'train')


def test_exif_rotated_photo_is_compared_as_opencv_decodes_it(tmp_path):
    write_pair(tmp_path, 'a', blob(1, shape=(20, 12)))
    photo = Image.fromarray(np.zeros((12, 20, 3), np.uint8))  # stored 20 wide, 12 high
    exif = photo.getexif()
    exif[0x0112] = 6  # "rotate 90": OpenCV returns it 12 wide, 20 high
    buffer = io.BytesIO()
    photo.save(buffer, 'JPEG', exif=exif.tobytes())
    (tmp_path / 'img_dir' / 'train' / 'a.jpg').write_bytes(buffer.getvalue())
    assert check_dataset_masks(build(tmp_path), 2, 255, 'train').num_masks == 1


def test_unreadable_files_colour_masks_and_empty_sets_are_named(tmp_path):
    write_pair(tmp_path, 'a', blob(1))
    write_pair(tmp_path, 'b', blob(1))
    write_pair(tmp_path, 'c', np.dstack([blob(1)] * 3) * 80)
    (tmp_path / 'img_dir' / 'train' / 'a.jpg').write_bytes(b'')
    (tmp_path / 'ann_dir' / 'train' / 'b.png').write_text('not a png')
    with pytest.raises(MaskCheckError) as err:
        check_dataset_masks(build(tmp_path), 2, 255, 'train')
    message = str(err.value)
    assert '3 sample(s) do not fit' in message
    assert 'a.jpg: image file is empty (0 bytes)' in message
    assert 'b.png: cannot be read as a mask' in message
    assert 'c.png: colour mask of shape (9, 13, 3)' in message and '--mode colour' in message
    empty = tmp_path / 'empty'
    (empty / 'img_dir' / 'train').mkdir(parents=True)
    with pytest.raises(ValueError, match=r"no '\.jpg' images in .*img_dir/train"):
        build(empty)


def test_a_training_set_without_foreground_is_refused(tmp_path):
    write_pair(tmp_path, 'a', np.zeros((9, 13), np.uint8))
    assert check_dataset_masks(build(tmp_path), 2, 255, 'test').num_masks == 1
    with pytest.raises(MaskCheckError, match='no mask has any foreground'):
        check_dataset_masks(build(tmp_path), 2, 255, 'train', require_foreground=True)


class BuiltLoop(BaseLoop):
    def run(self) -> None:
        pass


def run_hook(dataset, num_classes: int, hook=None):
    head = SimpleNamespace(num_classes=num_classes, ignore_index=255)
    messages = []
    runner = SimpleNamespace(model=SimpleNamespace(decode_head=head), _val_loop=None,
                             _test_loop=dict(type='TestLoop'),  # not built: not checked
                             logger=SimpleNamespace(info=messages.append))
    runner._train_loop = BuiltLoop(runner, SimpleNamespace(dataset=dataset))
    (hook or MaskCheckHook()).before_run(runner)
    return messages


def test_hook_checks_built_loops_and_the_class_count(tmp_path):
    write_pair(tmp_path, 'a', blob(2))
    dataset = build(tmp_path, classes=('background', 'board', 'pitch'))
    hook = MaskCheckHook()
    assert 'train_dataloader.dataset, 1 mask(s) fit the head (3 classes' in run_hook(
        dataset, 3, hook)[0]
    assert run_hook(dataset, 3, hook) == []  # train() then test() on one runner: checked once
    with pytest.raises(MaskCheckError, match=r"has 3 classes \['background', 'board', 'pitch'\] "
                                             r'but model.decode_head.num_classes=2.*'
                                             r'num_classes=3 model.decode_head.out_channels=3'):
        run_hook(dataset, 2)


@pytest.mark.parametrize('dataset_type', ['AdBoardDataset', 'FootballDataset'])
def test_an_empty_split_is_named_when_the_dataset_is_built(tmp_path, dataset_type):
    """Not MMSeg's 'need at least one array to concatenate' from its serialisation."""
    (tmp_path / 'img_dir' / 'test').mkdir(parents=True)
    with pytest.raises(ValueError, match=rf"{dataset_type}: no '\.[a-z]+' images in "
                                         r'.*img_dir/test'):
        DATASETS.build(dict(type=dataset_type, data_root=str(tmp_path),
                            data_prefix=dict(img_path='img_dir/test',
                                             seg_map_path='ann_dir/test'),
                            pipeline=PIPELINE))


def test_an_empty_wrapped_dataset_is_named_by_its_config_key():
    with pytest.raises(MaskCheckError, match=r'val_dataloader.dataset is empty'):
        check_dataset_masks([], 2, 255, 'val_dataloader.dataset')
