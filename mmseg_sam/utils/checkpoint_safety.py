# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Let MMEngine checkpoints load under ``torch.load(weights_only=True)``.

Since torch 2.6, ``torch.load`` only unpickles tensors, containers and an allow-list of
globals. MMEngine's checkpoints also pickle the runner's message hub, whose
:class:`~mmengine.logging.HistoryBuffer` objects hold numpy arrays and, in their instance
dict, ``getattr(HistoryBuffer, '<statistic>')`` references. So ``init_model``, ``load_from``
and ``--resume`` fail on a checkpoint that MMEngine itself wrote.

Instead of switching the safety off, we allow exactly those globals:

* ``HistoryBuffer`` itself;
* the numpy array and scalar reconstructors and ``numpy.dtype`` (numpy 2 pickles them under
  ``numpy._core``, numpy 1 under ``numpy.core``; both names are mapped);
* ``builtins.getattr``, but bound to :func:`history_buffer_statistic`, which resolves only the
  statistics registered on ``HistoryBuffer`` and refuses every other attribute lookup.

Any other pickled global is still refused by torch with an ``UnpicklingError`` that names it.
The allow-list is applied only around our own loads (:func:`mmengine_checkpoint_globals`, used
by :func:`mmseg_sam.utils.checkpoint_files.load_checkpoint_file`); torch's process-wide list is
left as it is, so importing ``mmseg_sam`` changes nothing for other code's ``torch.load``.
"""
import contextlib
from typing import Any, Callable, Iterator, List, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer


def history_buffer_statistic(owner: Any, name: str) -> Callable:
    """Stand-in for ``builtins.getattr`` while unpickling: HistoryBuffer statistics only.

    Args:
        owner: the object the pickle asks an attribute of; must be ``HistoryBuffer``.
        name: the attribute; must be a statistic registered on ``HistoryBuffer``.

    Returns:
        The ``HistoryBuffer`` method of that name.

    Raises:
        pickle.UnpicklingError: for any other owner or name, so a crafted checkpoint cannot
            use ``getattr`` to reach arbitrary callables.
    """
    import pickle

    # The four defaults are only put into ``_statistics_methods`` when the first buffer is
    # created, which may not have happened yet in a process that only loads a checkpoint.
    statistics = {'min', 'max', 'current', 'mean'}
    statistics.update(getattr(HistoryBuffer, '_statistics_methods', {}))
    if owner is HistoryBuffer and isinstance(name, str) and name in statistics:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'refused getattr({owner!r}, {name!r}) while loading a checkpoint: only '
        f'HistoryBuffer statistics {sorted(statistics)} are allowed')


def _numpy_core_module() -> Any:
    """Return numpy's core module (``numpy._core`` on numpy 2, ``numpy.core`` on numpy 1)."""
    core = getattr(np, '_core', None)
    return core if core is not None else np.core


def checkpoint_safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """The allow-list handed to :class:`torch.serialization.safe_globals`.

    Entries are either the global itself or ``(replacement, 'module.qualname')`` when the
    name in the pickle differs from the object's own name (numpy module moves, getattr).
    """
    multiarray = _numpy_core_module().multiarray
    entries: List[Union[Callable, Tuple[Callable, str]]] = [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        (history_buffer_statistic, 'builtins.getattr'),
        (history_buffer_statistic, '__builtin__.getattr'),
    ]
    for module_name in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        entries.append((multiarray._reconstruct, f'{module_name}._reconstruct'))
        entries.append((multiarray.scalar, f'{module_name}.scalar'))
    # numpy >= 1.25 may pickle dtypes through their classes (numpy.dtypes.Float64DType, ...).
    dtype_classes = getattr(np, 'dtypes', None)
    if dtype_classes is not None:
        for type_name in ('Float64DType', 'Float32DType', 'Float16DType', 'Int64DType',
                          'Int32DType', 'UInt8DType', 'BoolDType'):
            if hasattr(dtype_classes, type_name):
                entries.append(getattr(dtype_classes, type_name))
    return entries


@contextlib.contextmanager
def mmengine_checkpoint_globals() -> Iterator[None]:
    """Within this block, ``torch.load(weights_only=True)`` also accepts MMEngine's globals.

    Scoped with :class:`torch.serialization.safe_globals`, so the widening ends with the
    block (and torch's own list, including entries other code added, is kept).
    """
    with torch.serialization.safe_globals(checkpoint_safe_globals()):
        yield
