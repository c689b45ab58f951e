# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
import numpy as np
import pytest
from mmengine.logging import MMLogger
from mmseg.registry import VISBACKENDS

import mmseg_sam  # noqa: F401  (registers the backend)
from mmseg_sam.visualization import optional_tensorboard_vis_backend as backend_module


def _log_everything(save_dir):
    backend = VISBACKENDS.build(dict(type='OptionalTensorboardVisBackend', save_dir=str(save_dir)))
    backend.add_scalar('loss', 0.5, step=1)
    backend.add_scalars({'lr': 1e-3}, step=1)
    backend.add_image('overlay', np.zeros((8, 8, 3), np.uint8), step=1)
    backend.close()


def test_writes_events_when_tensorboard_is_installed(tmp_path):
    pytest.importorskip('tensorboard')
    _log_everything(tmp_path)
    assert list(tmp_path.rglob('events.out.tfevents.*'))


def test_without_tensorboard_it_logs_nothing_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(backend_module, 'tensorboard_installed', lambda: False)
    MMLogger.get_instance('test_optional_tensorboard')  # the 'current' logger print_log uses
    _log_everything(tmp_path)
    assert not list(tmp_path.rglob('events.out.tfevents.*'))
    printed = capsys.readouterr().out
    assert 'TensorBoard is not installed' in printed
    assert 'pip install tensorboard' in printed
