# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""The one seeded shuffle behind every split and subset this package draws.

:class:`~mmseg_sam.datasets.SeededSubsetDataset` (labelled subsets, held-out validation) and the
converters (``tools/dataset_converters/folder.py``: train/test of a user's folder;
``adboard.py``: train/val of the Kaggle pool; ``football.py --val-from-train``) all order their
items with :func:`seeded_order`, so the same seed over the same sorted items picks the same
items everywhere. (STARE's split is a fixed rule, not a draw: sorted halves.)
"""
import math
from typing import List, Union

import numpy as np


def seeded_order(count: int, seed: int) -> List[int]:
    """A permutation of ``range(count)``, fixed by ``seed``.

    NumPy's ``default_rng`` (PCG64) is used; its ``permutation`` stream is stable across NumPy
    versions for a given seed, so published subsets stay reproducible.

    Args:
        count: Number of items (>= 0).
        seed: Any non-negative int.

    Returns:
        The shuffled indices, a list of ``count`` ints.
    """
    return np.random.default_rng(seed).permutation(count).tolist()


def resolve_count(value: Union[int, float], total: int, name: str) -> int:
    """Turn a count given as an int or as a fraction of ``total`` into an int.

    A float in (0, 1) is a fraction, rounded half up, but at least 1; an int is taken as it
    is.

    Args:
        value: The count or fraction.
        total: What the fraction is of.
        name: The parameter's name for the error message.

    Raises:
        ValueError: For a fraction outside (0, 1) or a negative int.
    """
    if isinstance(value, float):
        if not 0.0 < value < 1.0:
            raise ValueError(f'{name}={value} as a fraction must lie in (0, 1); give an int '
                             f'for a count')
        return max(1, math.floor(value * total + 0.5))
    if value < 0:
        raise ValueError(f'{name}={value} must be >= 0')
    return int(value)
