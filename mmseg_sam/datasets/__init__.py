# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Datasets; importing this package registers them in ``mmseg.registry.DATASETS``."""
from .adboard import AdBoardDataset
from .folder import FolderSegDataset
from .football import FOOTBALL_ADVERTISEMENT_INDEX, FOOTBALL_CLASS_TABLE, FootballDataset
from .seeded_subset import SeededSubsetDataset
from .transforms import BinarizeMask

__all__ = [
    'BinarizeMask',
    'AdBoardDataset', 'FolderSegDataset', 'FootballDataset', 'SeededSubsetDataset',
    'FOOTBALL_CLASS_TABLE', 'FOOTBALL_ADVERTISEMENT_INDEX'
]
