# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Check every mask of a dataset against the head it will train or score, before any work.

MMSeg reads a mask as it is: a 0/255 mask in a 0/1 task turns every foreground pixel into the
ignore index (the model then learns background only), a value above the classes breaks the loss
mid-run, and a mask of another size than its image is stretched by ``Resize`` without a word.
:func:`check_dataset_masks` reads each mask once (and each image's header only), sees it as the
pipeline will (the dataset's ``reduce_zero_label`` / ``label_map`` and the pipeline's
:class:`BinarizeMask` applied), and raises one error that names every bad file and the fix.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Dict, List, Sequence

import mmcv
import numpy as np
from mmengine import fileio
from PIL import Image, UnidentifiedImageError

from .transforms import BinarizeMask

#: How many bad files an error lists before it says "... and N more".
MAX_LISTED = 20
#: EXIF orientations that rotate by 90 degrees; OpenCV (MMSeg's image decoder) applies them.
EXIF_ORIENTATION_TAG = 0x0112
TRANSPOSING_ORIENTATIONS = frozenset({5, 6, 7, 8})


class MaskCheckError(ValueError):
    """A dataset's masks do not fit the model; the message names the files and the fix."""


@dataclass
class MaskCheckReport:
    """What :func:`check_dataset_masks` found in the masks of one dataset.

    Attributes:
        where: The config key of the dataset (e.g. ``'train_dataloader.dataset'``).
        num_masks: Masks read.
        label_pixels: Pixel count per label value (after the pipeline's label mapping),
            ``ignore_index`` included.
        problems: One line per bad file; empty when the dataset is fine.
    """

    where: str
    num_masks: int = 0
    label_pixels: Dict[int, int] = field(default_factory=dict)
    problems: List[str] = field(default_factory=list)

    def fractions(self) -> Dict[int, float]:
        """Share of the pixels of each label value, in [0, 1]."""
        total = sum(self.label_pixels.values()) or 1
        return {label: count / total for label, count in sorted(self.label_pixels.items())}


def unwrap_dataset(dataset: Any) -> Any:
    """The innermost dataset of wrappers such as ``SeededSubsetDataset`` or ``RepeatDataset``."""
    while hasattr(dataset, 'dataset') and not hasattr(dataset, 'pipeline'):
        dataset = dataset.dataset
    return dataset


def label_transforms(dataset: Any) -> List[BinarizeMask]:
    """The transforms of the dataset's pipeline that change label values, in order."""
    pipeline = getattr(unwrap_dataset(dataset), 'pipeline', None)
    transforms = getattr(pipeline, 'transforms', None) or []
    return [t for t in transforms if isinstance(t, BinarizeMask)]


def image_size(path: str) -> Sequence[int]:
    """(height, width) of an image as MMSeg's OpenCV decoder will return it.

    Reads the header only. OpenCV applies the EXIF orientation, so a photo stored rotated
    by 90 degrees has its sides swapped.

    Raises:
        MaskCheckError: The file is empty or not an image.
    """
    data = fileio.get(path)
    if not data:
        raise MaskCheckError(f'{path}: image file is empty (0 bytes)')
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            orientation = image.getexif().get(EXIF_ORIENTATION_TAG)
    except (UnidentifiedImageError, OSError) as err:
        raise MaskCheckError(f'{path}: cannot be read as an image ({err})') from err
    if orientation in TRANSPOSING_ORIENTATIONS:
        return width, height
    return height, width


def read_labels(info: Dict[str, Any], transforms: Sequence[BinarizeMask]) -> np.ndarray:
    """The label map (H, W) uint8 of one sample, as the training pipeline will see it.

    Decodes like MMSeg's ``LoadAnnotations`` (Pillow, unchanged), then applies the dataset's
    ``reduce_zero_label`` and ``label_map`` with MMSeg's rules and the pipeline's label
    transforms.

    Raises:
        MaskCheckError: The mask is empty, not an image, has colour channels or more than
            8 bits (``LoadAnnotations`` would silently wrap such values).
    """
    path = info['seg_map_path']
    data = fileio.get(path)
    if not data:
        raise MaskCheckError(f'{path}: mask file is empty (0 bytes)')
    try:
        mask = mmcv.imfrombytes(data, flag='unchanged', backend='pillow')
    except Exception as err:  # Pillow raises several types for broken files
        raise MaskCheckError(f'{path}: cannot be read as a mask ({err})') from err
    if mask is None:
        raise MaskCheckError(f'{path}: cannot be read as a mask')
    mask = mask.squeeze() if mask.ndim == 3 and mask.shape[2] == 1 else mask
    if mask.ndim != 2:
        raise MaskCheckError(
            f'{path}: colour mask of shape {mask.shape}; expected one channel of class indices. '
            f'Convert colour masks with `tools/dataset_converters/folder.py --mode colour`')
    if mask.dtype != np.uint8:
        if mask.min() < 0 or mask.max() > 255:
            raise MaskCheckError(
                f'{path}: {mask.dtype} mask with values up to {mask.max()}; MMSeg reads masks '
                f'as 8-bit, so values above 255 would wrap. Save class indices as 8-bit PNG')
        mask = mask.astype(np.uint8)
    if info.get('reduce_zero_label'):
        mask = mask.copy()
        mask[mask == 0] = 255
        mask = mask - 1
        mask[mask == 254] = 255
    label_map = info.get('label_map')
    if label_map:
        source = mask.copy()
        for old, new in label_map.items():
            mask[source == old] = new
    for transform in transforms:
        mask = transform(dict(gt_seg_map=mask, seg_map_path=path))['gt_seg_map']
    return mask


def check_dataset_masks(dataset: Any, num_classes: int, ignore_index: int, where: str,
                        require_foreground: bool = False) -> MaskCheckReport:
    """Check each mask of ``dataset`` against a head of ``num_classes`` classes.

    A sample is bad when its image cannot be read, its mask cannot be read or is not one
    channel, the mask size differs from the image size, or the mask holds a value that is
    neither a class (``0 .. num_classes - 1``) nor ``ignore_index``. Over the whole dataset,
    masks that hold only background and ``ignore_index`` (a 0/255 mask read as labels) are an
    error too, and so is a training set without any foreground (``require_foreground``).

    Args:
        dataset: A built dataset with ``get_data_info`` (MMSeg's ``BaseSegDataset`` or a
            wrapper of one).
        num_classes: Classes of the model's head (2 for a one-logit binary head).
        ignore_index: The head's ignore index (MMSeg: 255).
        where: The dataset's config key, for messages.
        require_foreground: Raise if no mask has any foreground pixel.

    Returns:
        The report (counts per label value), when nothing is wrong.

    Raises:
        MaskCheckError: Listing every bad file (up to :data:`MAX_LISTED`) and the fix.
    """
    report = MaskCheckReport(where=where)
    if len(dataset) == 0:
        raise MaskCheckError(f'{where} is empty: no image/mask pairs were found. Check its '
                             f'data_root and data_prefix, or convert the data first')
    transforms = label_transforms(dataset)
    allowed = set(range(num_classes)) | {ignore_index}
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        if not info.get('seg_map_path'):
            continue
        try:
            labels = read_labels(info, transforms)
            height, width = image_size(info['img_path'])
        except MaskCheckError as err:
            report.problems.append(str(err))
            continue
        report.num_masks += 1
        if labels.shape != (height, width):
            report.problems.append(
                f'{info["seg_map_path"]}: mask is {labels.shape[1]}x{labels.shape[0]} but its '
                f'image {info["img_path"]} is {width}x{height} (width x height); the pipeline '
                f'would stretch one onto the other. Re-export the mask at the image size')
            continue
        values, counts = np.unique(labels, return_counts=True)
        for value, count in zip(values.tolist(), counts.tolist()):
            report.label_pixels[value] = report.label_pixels.get(value, 0) + count
        unexpected = sorted(set(values.tolist()) - allowed)
        if unexpected:
            report.problems.append(
                f'{info["seg_map_path"]}: values {unexpected} are neither classes of the head '
                f'(0..{num_classes - 1}) nor the ignore index {ignore_index}')
    _raise_if_problems(report, num_classes, ignore_index)
    foreground = sum(count for label, count in report.label_pixels.items()
                     if 0 < label < num_classes)
    if foreground == 0 and report.label_pixels.get(ignore_index, 0) > 0:
        raise MaskCheckError(
            f'{where}: the masks hold only 0 and {ignore_index}, and {ignore_index} is the '
            f'ignore index, so every foreground pixel would be ignored and the model would '
            f'learn background only. These look like 0/255 binary masks: convert them with '
            f'`tools/dataset_converters/folder.py IMAGES MASKS --out-dir DIR` (writes 0/1), or '
            f"add dict(type='BinarizeMask') after LoadAnnotations in every pipeline")
    if foreground == 0 and require_foreground:
        raise MaskCheckError(f'{where}: no mask has any foreground pixel (labels '
                             f'1..{num_classes - 1}); the model would learn background only')
    return report


def _raise_if_problems(report: MaskCheckReport, num_classes: int, ignore_index: int) -> None:
    if not report.problems:
        return
    listed = report.problems[:MAX_LISTED]
    more = len(report.problems) - len(listed)
    hint = ''
    if any('are neither classes' in p for p in report.problems):
        hint = (f'\nFix: masks must hold class indices 0..{num_classes - 1} (or '
                f'{ignore_index} = ignore). For 0/255 or colour masks run '
                f'tools/dataset_converters/folder.py; for more classes set '
                f'model.decode_head.num_classes (and out_channels)')
    listing = '\n  '.join(listed) + (f'\n  ... and {more} more' if more else '')
    raise MaskCheckError(f'{report.where}: {len(report.problems)} sample(s) do not fit the '
                         f'model:\n  {listing}{hint}')


__all__ = ['MaskCheckError', 'MaskCheckReport', 'check_dataset_masks', 'read_labels',
           'image_size']
