# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Binary advertisement-board segmentation dataset.

Used for two sources that share the same two classes:

* the Kaggle "football-match-adboards-mask-dataset", converted with
  ``tools/dataset_converters/adboard.py``;
* the binary variant of the Acme AI "Football Semantic Segmentation" dataset
  (``football_adboard/`` written by ``tools/dataset_converters/football.py``).
"""
from __future__ import annotations

from mmseg.registry import DATASETS

from .class_zero_seg_dataset import ClassZeroSegDataset


@DATASETS.register_module()
class AdBoardDataset(ClassZeroSegDataset):
    """Advertisement boards vs. everything else.

    Expected layout (MMSeg's usual one)::

        data_root/
            img_dir/{train,val,test}/<name>.jpg   # RGB frames, any size
            ann_dir/{train,val,test}/<name>.png   # uint8 masks, shape (H, W)

    Every mask holds only the values 0 (background) and 1 (adboard); the converters write
    exactly these values. A mask with 0/255 values (as in the raw Kaggle download) would make
    every board pixel an out-of-range label, so convert first.

    Args:
        img_suffix: Suffix of the image files. Default: ``'.jpg'``.
        seg_map_suffix: Suffix of the mask files. Default: ``'.png'``.
        reduce_zero_label: Must stay ``False``: label 0 is the real class "background"; reducing
            it would turn background into the ignore index and adboard into class 0.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset` (``data_root``,
            ``data_prefix``, ``pipeline``, ...).
    """

    METAINFO = dict(
        classes=('background', 'adboard'),
        # Drawing colours only; black background, and the adboard colour of the Acme AI
        # football masks so that both sources look the same in visualisations.
        palette=[[0, 0, 0], [27, 71, 151]],
    )

    ZERO_LABEL_REASON = "label 0 is the real class 'background' (masks hold 0/1)"
