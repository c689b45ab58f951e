# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
import sys
from pathlib import Path

import pytest
import torch

# Tests import the helpers module and run the tools by path, from the repository root.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tests'))
torch.set_num_threads(2)


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return ROOT


@pytest.fixture(autouse=True, scope='session')
def mmseg_default_scope():
    """Build with mmseg's registries as scope, as a config with default_scope='mmseg' does."""
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
