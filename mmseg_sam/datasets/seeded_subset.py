# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""A dataset wrapper for few-label experiments: a seeded random subset, with a held-out part."""
from typing import Any, List, Optional, Union

from mmengine.dataset import BaseDataset
from mmseg.registry import DATASETS

from .seeded_split import resolve_count, seeded_order


@DATASETS.register_module()
class SeededSubsetDataset:
    """A reproducible random subset of another dataset, optionally after a held-out part.

    The wrapped dataset's indices are shuffled once with ``seed`` (by
    :func:`~mmseg_sam.datasets.seeded_split.seeded_order`). The first ``held_out`` of
    them are reserved for validation; ``select='subset'`` returns the next ``size`` of them,
    ``select='held_out'`` the reserved ones. So, with the same ``seed`` and ``held_out``, a
    training subset never overlaps the held-out validation frames, and subsets of growing
    ``size`` are nested (10 frames are the first 10 of the 30-frame subset).

    Args:
        dataset: the wrapped dataset or its config.
        size: number of samples (int) or fraction of the non-held-out samples (float in
            (0, 1]); None takes all of them.
        seed: shuffling seed.
        held_out: number of samples reserved for validation, or a fraction (float in
            (0, 1)) of the dataset, rounded and at least 1.
        select: 'subset' or 'held_out'.
    """

    def __init__(self, dataset: Union[BaseDataset, dict], size: Union[None, int, float] = None,
                 seed: int = 0, held_out: Union[int, float] = 0,
                 select: str = 'subset') -> None:
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        if select not in ('subset', 'held_out'):
            raise ValueError(f"SeededSubsetDataset select={select!r}; expected 'subset' or "
                             f"'held_out'")
        total = len(self.dataset)
        if total == 0:
            raise ValueError(f'SeededSubsetDataset: the wrapped dataset is empty '
                             f'({_describe(self.dataset)}); check its data_root and '
                             f'data_prefix, or convert the data first')
        held_out = resolve_count(held_out, total, 'SeededSubsetDataset held_out')
        if not 0 <= held_out < total:
            raise ValueError(f'SeededSubsetDataset held_out={held_out} must be in [0, {total}) '
                             f'for a dataset of {total} samples')
        available = total - held_out
        count = self._resolve_size(size, available)
        order = seeded_order(total, seed)
        self.indices: List[int] = (order[:held_out] if select == 'held_out'
                                   else order[held_out:held_out + count])
        self.size, self.seed, self.held_out, self.select = size, seed, held_out, select

    @staticmethod
    def _resolve_size(size: Union[None, int, float], available: int) -> int:
        if size is None:
            return available
        if isinstance(size, float):
            if not 0 < size <= 1:
                raise ValueError(f'SeededSubsetDataset size={size} as a fraction must be in '
                                 f'(0, 1]')
            return max(1, round(size * available))
        if not 0 < size <= available:
            raise ValueError(f'SeededSubsetDataset size={size} must be in [1, {available}] '
                             f'(dataset size minus held_out)')
        return int(size)

    @property
    def metainfo(self) -> dict:
        return self.dataset.metainfo

    def full_init(self) -> None:
        self.dataset.full_init()

    def get_data_info(self, index: int) -> Optional[dict]:
        return self.dataset.get_data_info(self.indices[index])

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[self.indices[index]]


def _describe(dataset: Any) -> str:
    """Where a dataset reads its images from, for error messages."""
    prefix = getattr(dataset, 'data_prefix', None) or {}
    return (f'{type(dataset).__name__} with data_root={getattr(dataset, "data_root", None)!r}, '
            f'img_path={prefix.get("img_path")!r}')
