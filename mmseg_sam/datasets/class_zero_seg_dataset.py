# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""A dataset whose label 0 is a real class, so MMSeg's ``reduce_zero_label`` must stay off."""
from typing import Any

from .non_empty_seg_dataset import NonEmptySegDataset


class ClassZeroSegDataset(NonEmptySegDataset):
    """:class:`NonEmptySegDataset` with ``.jpg`` images, ``.png`` masks and label 0 a class.

    ``reduce_zero_label=True`` would make label 0 the ignore index and shift every other class
    down by one, silently training on wrong labels; it is refused with the dataset's reason.

    Args:
        img_suffix: Suffix of the image files. Default: ``'.jpg'``.
        seg_map_suffix: Suffix of the mask files. Default: ``'.png'``.
        reduce_zero_label: Must stay ``False`` (see above).
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset` (``data_root``,
            ``data_prefix``, ``pipeline``, ...).
    """

    #: Why label 0 is a class here; completes the error message.
    ZERO_LABEL_REASON = 'label 0 is a real class of this dataset'

    def __init__(self,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False,
                 **kwargs: Any) -> None:
        if reduce_zero_label:
            raise ValueError(f'{type(self).__name__}: reduce_zero_label=True is not supported; '
                             f'{self.ZERO_LABEL_REASON}, so reducing it would shift the labels.')
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=False, **kwargs)
