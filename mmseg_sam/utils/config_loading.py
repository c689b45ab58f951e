# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Load a config file and apply ``--cfg-options``: the one way every tool does it.

``tools/train.py``, ``tools/test.py`` (through :func:`~mmseg_sam.utils.runner_cli.load_config`)
and the analysis tools all start from a config path and, optionally, the dict that MMEngine's
``DictAction`` makes of ``--cfg-options``. Doing it here once keeps their error for a missing
file, and the way options are applied, the same.
"""
import copy
import os
import os.path as osp
from typing import Optional, Union

from mmengine.config import Config

__all__ = ['load_config_file']


def load_config_file(path: Union[str, 'os.PathLike[str]'],
                     cfg_options: Optional[dict] = None,
                     *, what: str = 'config') -> Config:
    """Load the config at ``path`` and merge ``cfg_options`` into it, if given.

    Args:
        path: The config file (``str`` or ``pathlib.Path``).
        cfg_options: ``--cfg-options`` as MMEngine's ``DictAction`` parses them, e.g.
            ``{'train_cfg.max_iters': 100, 'model.pretrained': None}``; None or ``{}`` for
            none. Not modified, and deep-copied before the merge so that configs loaded with
            the same options dict (a tool comparing several configs) never share, and edit,
            one list or dict through it, whatever ``merge_from_dict`` copies itself.
        what: How the error message names the file (e.g. ``'CONFIG'`` for a tool whose
            usage line calls it that).

    Returns:
        The loaded config, with the options applied.

    Raises:
        FileNotFoundError: ``'<what> file not found: <path>'`` when ``path`` is not a file,
            checked first so that a typo does not fail deep inside MMEngine.
    """
    path = os.fspath(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(copy.deepcopy(cfg_options))
    return cfg
