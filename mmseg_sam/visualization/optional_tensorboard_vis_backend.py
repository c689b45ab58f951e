# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""TensorBoard logging when TensorBoard is installed, a one-line notice when it is not.

Our runtime config logs to TensorBoard beside MMEngine's local files. MMEngine's
``TensorboardVisBackend`` raises ``ImportError`` at the first logged value when the
``tensorboard`` package is missing, which would make TensorBoard a hard requirement of training.
It is an optional extra (``pip install mmseg-sam[tensorboard]``), so this backend writes
TensorBoard events where the package is there, and otherwise says once, at the start, that it
writes none and how to get them; the local backend logs everything either way.
"""
import importlib.util
from typing import Any, Callable

from mmengine.logging import print_log
from mmengine.visualization import TensorboardVisBackend
from mmseg.registry import VISBACKENDS

__all__ = ['OptionalTensorboardVisBackend']

_MISSING_NOTICE = ('TensorBoard is not installed, so no TensorBoard events are written '
                   '(metrics and images still go to the local log backend). To get them: '
                   'pip install tensorboard  (or mmseg-sam[tensorboard])')


class _NoWriter:
    """Stands in for ``SummaryWriter``: every method accepts its arguments and does nothing."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        def ignore(*args: Any, **kwargs: Any) -> None:
            return None
        return ignore


def tensorboard_installed() -> bool:
    """Whether ``torch.utils.tensorboard`` can import its ``tensorboard`` dependency."""
    return importlib.util.find_spec('tensorboard') is not None


@VISBACKENDS.register_module()
class OptionalTensorboardVisBackend(TensorboardVisBackend):
    """``TensorboardVisBackend`` that turns into a no-op, with a notice, without TensorBoard.

    Args:
        save_dir: Folder of the event files (as for ``TensorboardVisBackend``).
    """

    def _init_env(self) -> None:
        if tensorboard_installed():
            super()._init_env()
            return
        print_log(_MISSING_NOTICE, logger='current', level=30)
        self._tensorboard = _NoWriter()
