# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""SeededSubsetDataset: reproducible, nested, disjoint from its held-out part."""
import pytest
from mmengine.dataset import BaseDataset

from mmseg_sam.datasets import SeededSubsetDataset
from mmseg_sam.datasets.seeded_split import resolve_count, seeded_order


class Numbers(BaseDataset):
    """``count`` samples whose data info is their own index."""

    def __init__(self, count: int) -> None:
        self.count = count
        super().__init__(serialize_data=False)

    def load_data_list(self):
        return [dict(index=i) for i in range(self.count)]


def picked(dataset: SeededSubsetDataset):
    return [dataset.get_data_info(i)['index'] for i in range(len(dataset))]


def test_subsets_are_seeded_nested_and_disjoint_from_the_held_out_part():
    data = Numbers(20)
    held = picked(SeededSubsetDataset(data, seed=3, held_out=4, select='held_out'))
    ten = picked(SeededSubsetDataset(data, size=10, seed=3, held_out=4))
    five = picked(SeededSubsetDataset(data, size=5, seed=3, held_out=4))
    assert held + ten == seeded_order(20, 3)[:14]
    assert five == ten[:5] and not set(held) & set(ten)
    assert picked(SeededSubsetDataset(data, size=10, seed=4, held_out=4)) != ten
    assert len(SeededSubsetDataset(data, held_out=4)) == 16


def test_held_out_as_a_fraction_and_clear_errors():
    data = Numbers(25)
    assert len(SeededSubsetDataset(data, held_out=0.1, select='held_out')) == 3  # 2.5 -> 3
    assert len(SeededSubsetDataset(Numbers(3), held_out=0.1, select='held_out')) == 1
    with pytest.raises(ValueError, match=r'held_out=1.5 as a fraction must lie in \(0, 1\)'):
        SeededSubsetDataset(data, held_out=1.5)
    with pytest.raises(ValueError, match=r'size=30 must be in \[1, 25\]'):
        SeededSubsetDataset(data, size=30)
    with pytest.raises(ValueError, match=r'wrapped dataset is empty \(Numbers with data_root'):
        SeededSubsetDataset(Numbers(0))
    assert resolve_count(3, 10, 'n') == 3
