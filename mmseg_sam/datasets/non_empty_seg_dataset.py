# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""MMSeg's segmentation dataset, refusing a split in which it finds no image."""
from typing import List

from mmseg.datasets import BaseSegDataset


class NonEmptySegDataset(BaseSegDataset):
    """:class:`mmseg.datasets.BaseSegDataset` whose file listing must find something.

    MMSeg builds an empty split without complaint and then fails in serialisation with
    ``need at least one array to concatenate``, naming neither the folder nor the cause. Our
    datasets derive from this class instead, so the error names the folder and the suffix it
    looked for.
    """

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        if not data_list:
            raise ValueError(
                f'{type(self).__name__}: no {self.img_suffix!r} images in '
                f'{self.data_prefix.get("img_path")} (data_root {self.data_root}); check '
                f'data_root and data_prefix, or convert the data first '
                f'(tools/dataset_converters/)')
        return data_list
