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


@pytest.fixture(autouse=True)
def fp32_trunk_by_default(monkeypatch):
    """``trunk_precision='auto'`` means fp32 in the tests, whatever this CPU can do.

    On CPUs with bf16 instructions 'auto' is bf16, which would make every test that holds a
    default backbone to the official fp32 encoder at 1e-5 depend on the machine. The bf16
    choice itself and bf16 parity are tested in test_trunk_execution.py, which sets
    precisions explicitly or patches this probe itself. Tools run as subprocesses are not
    patched; their tests compare runs of one machine with each other.
    """
    from mmseg_sam.models.backbones import trunk_execution
    monkeypatch.setattr(trunk_execution, 'cpu_has_native_bf16', lambda: False)
