# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""The 12-class Acme AI "Football Semantic Segmentation" dataset.

This module holds the single source of truth for the dataset's classes and mask colours
(:data:`FOOTBALL_CLASS_TABLE`); the converter ``tools/dataset_converters/football.py`` imports it
to turn the RGBA colour masks into index masks, and :class:`FootballDataset` derives its
``METAINFO`` from it, so the label values on disk and the class names can never disagree.
"""
from __future__ import annotations

from typing import NamedTuple, Tuple

from mmseg.registry import DATASETS

from .class_zero_seg_dataset import ClassZeroSegDataset

RGB = Tuple[int, int, int]


class FootballClass(NamedTuple):
    """One class of the football dataset.

    Attributes:
        name: Class name as used in ``METAINFO['classes']``.
        mask_rgb: The exact RGB colour of the class in the original masks, or ``None`` when the
            class never occurs in any mask.
        draw_rgb: Colour used for drawing (the palette); equals ``mask_rgb`` when there is one.
    """

    name: str
    mask_rgb: RGB | None
    draw_rgb: RGB


# Index in this tuple == label value written by the converter. The colours were checked colour
# by colour against the frames (the dataset's own published colour table is wrong); several
# differ by only 1-2 per channel (Goalkeeper A/Team A, Goalkeeper B/Team B), so matching must be
# exact. 'Coaches & Officials' is part of the published class list but no mask contains it: it
# keeps its index so that class indices stay those of the published list, and gets a drawing
# colour (cyan) that no mask uses.
FOOTBALL_CLASS_TABLE: Tuple[FootballClass, ...] = (
    FootballClass('unlabeled', (0, 0, 0), (0, 0, 0)),
    FootballClass('Goal Bar', (255, 0, 29), (255, 0, 29)),
    FootballClass('Referee', (238, 171, 171), (238, 171, 171)),
    FootballClass('Advertisement', (27, 71, 151), (27, 71, 151)),
    FootballClass('Ground', (137, 126, 126), (137, 126, 126)),
    FootballClass('Ball', (201, 19, 223), (201, 19, 223)),
    FootballClass('Coaches & Officials', None, (0, 255, 255)),
    FootballClass('Audience', (111, 48, 253), (111, 48, 253)),
    FootballClass('Goalkeeper A', (255, 235, 0), (255, 235, 0)),
    FootballClass('Goalkeeper B', (255, 159, 0), (255, 159, 0)),
    FootballClass('Team A', (254, 233, 3), (254, 233, 3)),
    FootballClass('Team B', (255, 160, 1), (255, 160, 1)),
)

#: Label value of the adboard class; the binary adboard variant maps it to 1 and all else to 0.
FOOTBALL_ADVERTISEMENT_INDEX: int = 3

assert FOOTBALL_CLASS_TABLE[FOOTBALL_ADVERTISEMENT_INDEX].name == 'Advertisement'


@DATASETS.register_module()
class FootballDataset(ClassZeroSegDataset):
    """Acme AI football frames with 12 classes (label value == class index).

    Expected layout (written by ``tools/dataset_converters/football.py``)::

        data_root/
            img_dir/{train,val,test}/frame_NNNN.jpg   # 1920x1080 RGB frames
            ann_dir/{train,val,test}/frame_NNNN.png   # uint8 index masks, shape (H, W), 0..11

    Classes (index: name): 0 unlabeled, 1 Goal Bar, 2 Referee, 3 Advertisement, 4 Ground,
    5 Ball, 6 Coaches & Officials, 7 Audience, 8 Goalkeeper A, 9 Goalkeeper B, 10 Team A,
    11 Team B. Class 0 'unlabeled' is a real, trained class here (a few scattered pixels per
    frame), not the ignore label. Class 6 'Coaches & Officials' exists in the published class list
    but never appears in any mask; it is kept so that indices match that list, and its
    per-class IoU is therefore undefined (NaN in MMSeg's IoUMetric).

    Args:
        img_suffix: Suffix of the image files. Default: ``'.jpg'``.
        seg_map_suffix: Suffix of the mask files. Default: ``'.png'``.
        reduce_zero_label: Must stay ``False``: label 0 is a real class.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.
    """

    METAINFO = dict(
        classes=tuple(c.name for c in FOOTBALL_CLASS_TABLE),
        palette=[list(c.draw_rgb) for c in FOOTBALL_CLASS_TABLE],
    )

    ZERO_LABEL_REASON = "label 0 ('unlabeled') is a real class of this dataset"
