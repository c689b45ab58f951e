# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Turn 0/255 foreground masks into 0/1 labels inside the data pipeline."""
from typing import Dict, Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class BinarizeMask(BaseTransform):
    """Map a binary mask stored as 0/255 (as many annotation tools write it) to labels 0/1.

    Use it right after ``LoadAnnotations`` when the masks were not converted beforehand.
    Values outside ``allowed_values`` are an error naming the mask file, because a mask with
    anti-aliased edges or a palette index would otherwise be binarised silently.

    Required keys: ``gt_seg_map`` (H, W) uint8. Modified keys: ``gt_seg_map``.

    Args:
        foreground_value: the stored value of foreground pixels.
        allowed_values: values a mask may hold; others raise ``ValueError``. Values other
            than ``foreground_value`` and ``ignore_value`` become background (0).
        ignore_value: a stored value passed through unchanged as MMSeg's ignore index (255),
            or None (default) for masks without ignored pixels. It must differ from
            ``foreground_value``: with 0/255 masks, 255 is the foreground and nothing can be
            ignored, so asking for both is an error rather than a silent choice.
    """

    def __init__(self, foreground_value: int = 255, allowed_values: Sequence[int] = (0, 255),
                 ignore_value: Optional[int] = None) -> None:
        super().__init__()
        self.foreground_value = foreground_value
        self.allowed_values = tuple(sorted(set(allowed_values)))
        self.ignore_value = ignore_value
        if foreground_value not in self.allowed_values:
            raise ValueError(f'BinarizeMask foreground_value={foreground_value} is not in '
                             f'allowed_values={self.allowed_values}')
        if ignore_value is not None and ignore_value == foreground_value:
            raise ValueError(f'BinarizeMask ignore_value={ignore_value} equals '
                             f'foreground_value: a value cannot be both. Give masks that mark '
                             f'ignored pixels with another value (e.g. foreground_value=1, '
                             f'allowed_values=(0, 1, 255), ignore_value=255), or leave '
                             f'ignore_value=None')
        if ignore_value is not None and ignore_value not in self.allowed_values:
            raise ValueError(f'BinarizeMask ignore_value={ignore_value} is not in '
                             f'allowed_values={self.allowed_values}')

    def transform(self, results: Dict) -> Dict:
        mask = results['gt_seg_map']
        values = np.unique(mask)
        unexpected = sorted(set(values.tolist()) - set(self.allowed_values))
        if unexpected:
            raise ValueError(f"{results.get('seg_map_path', '<mask>')}: values {unexpected} "
                             f'are not in allowed_values={self.allowed_values}')
        binary = (mask == self.foreground_value).astype(np.uint8)
        if self.ignore_value is not None:
            binary[mask == self.ignore_value] = 255  # MMSeg's ignore index
        results['gt_seg_map'] = binary
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(foreground_value={self.foreground_value}, '
                f'allowed_values={self.allowed_values}, ignore_value={self.ignore_value})')
