# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""A user's own segmentation data, as written by ``tools/dataset_converters/folder.py``."""
from __future__ import annotations

import json
import os.path as osp
from typing import Any, Dict, Optional

from mmengine import fileio
from mmseg.registry import DATASETS

from .non_empty_seg_dataset import NonEmptySegDataset

#: The metadata file the converter writes into the dataset root.
META_FILE = 'dataset_meta.json'
#: Keys of :data:`META_FILE` that the dataset reads.
META_KEYS = ('classes', 'palette', 'img_suffix', 'seg_map_suffix')


def read_dataset_meta(data_root: str) -> Dict[str, Any]:
    """Read and check ``data_root/dataset_meta.json``.

    Returns:
        The metadata: ``classes`` (list of names, index = label value), ``palette`` (one RGB
        triple per class), ``img_suffix`` and ``seg_map_suffix``, plus what else the converter
        recorded (``counts`` per split, ``mask_format``).

    Raises:
        FileNotFoundError: No metadata file; the message says how to make one.
        ValueError: The file is not valid JSON or lacks a key.
    """
    path = osp.join(data_root, META_FILE)
    if not fileio.exists(path):
        raise FileNotFoundError(
            f'FolderSegDataset: {path} not found. Convert your images and masks with '
            f'`python tools/dataset_converters/folder.py IMAGES_DIR MASKS_DIR --out-dir '
            f'{data_root}`, or set data_root to a folder that converter wrote')
    try:
        meta = json.loads(fileio.get_text(path))
    except json.JSONDecodeError as err:
        raise ValueError(f'FolderSegDataset: {path} is not valid JSON ({err}); convert the '
                         f'data again') from err
    missing = [key for key in META_KEYS if key not in meta]
    if missing:
        raise ValueError(f'FolderSegDataset: {path} lacks {missing}; convert the data again')
    if len(meta['palette']) != len(meta['classes']):
        raise ValueError(f'FolderSegDataset: {path} has {len(meta["classes"])} classes but '
                         f'{len(meta["palette"])} palette colours')
    return meta


@DATASETS.register_module()
class FolderSegDataset(NonEmptySegDataset):
    """Images and index masks in MMSeg's layout, with class names read from the data.

    Layout (what ``tools/dataset_converters/folder.py`` writes)::

        data_root/
            dataset_meta.json                   # classes, palette, suffixes, counts
            img_dir/{train,test}/<name><img_suffix>
            ann_dir/{train,test}/<name>.png     # uint8 (H, W), values 0..C-1 (255 = ignore)

    ``classes`` and ``palette`` come from ``dataset_meta.json``, so one dataset type serves
    every user's classes; a ``metainfo`` argument still overrides them (MMSeg's rule).

    Args:
        data_root: The converter's ``--out-dir``.
        metainfo: Optional overrides of ``classes`` / ``palette``.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset` (``data_prefix``,
            ``pipeline``, ...). ``img_suffix`` and ``seg_map_suffix`` default to the recorded
            ones.
    """

    def __init__(self, data_root: str, metainfo: Optional[dict] = None, **kwargs: Any) -> None:
        self.dataset_meta_file = osp.join(data_root, META_FILE)
        meta = read_dataset_meta(data_root)
        metainfo = dict(classes=tuple(meta['classes']), palette=meta['palette'],
                        **(metainfo or {}))
        kwargs.setdefault('img_suffix', meta['img_suffix'])
        kwargs.setdefault('seg_map_suffix', meta['seg_map_suffix'])
        super().__init__(data_root=data_root, metainfo=metainfo, **kwargs)


__all__ = ['FolderSegDataset', 'META_FILE', 'read_dataset_meta']
