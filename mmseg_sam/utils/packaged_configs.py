# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Where this package's configs are, so that a config in any folder can inherit them.

The configs ship inside the package: the repository keeps them in ``configs/`` (MMSeg's
layout) and ``mmseg_sam/configs`` links there, so a built wheel holds them as
``mmseg_sam/configs/`` and they are present after ``pip install mmseg-sam`` as in a clone.
MMEngine 0.10 resolves ``pkg::`` config bases only for a fixed list of OpenMMLab packages,
but it evaluates a config's ``_base_`` expression as Python, so a user's config inherits ours
with an absolute path computed at load time::

    _base_ = [__import__('mmseg_sam').config_path(
        'folder/convtrans-ln_sam-vit-t-frozen_1xb2-500_folder-binary-1024x1024.py')]

``python -m mmseg_sam.utils.packaged_configs`` lists the shipped configs.
"""
from pathlib import Path
from typing import List

#: The folder holding the shipped configs (``_base_/``, ``sam_frozen/``, ``folder/``, ...).
CONFIG_ROOT = Path(__file__).resolve().parents[1] / 'configs'


def config_path(relative: str) -> str:
    """The absolute path of a shipped config, for ``_base_`` or ``Config.fromfile``.

    Args:
        relative: The config's path below ``configs/``, e.g.
            ``'sam_frozen/convtrans-ln_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py'``
            (a leading ``configs/`` is accepted too).

    Raises:
        FileNotFoundError: No such config; the message lists the folders that exist.
    """
    parts = Path(relative).parts
    if parts and parts[0] == 'configs':
        relative = str(Path(*parts[1:]))
    path = CONFIG_ROOT / relative
    if not path.is_file():
        folders = sorted(p.name for p in CONFIG_ROOT.iterdir() if p.is_dir())
        raise FileNotFoundError(
            f'mmseg_sam ships no config {relative!r} (looked for {path}); configs are under '
            f'{CONFIG_ROOT} in {folders}; `python -m mmseg_sam.utils.packaged_configs` '
            f'lists them')
    return str(path)


def list_configs() -> List[str]:
    """Every shipped config below :data:`CONFIG_ROOT`, as paths relative to it, sorted."""
    return sorted(p.relative_to(CONFIG_ROOT).as_posix() for p in CONFIG_ROOT.rglob('*.py'))


if __name__ == '__main__':
    print(f'# configs shipped with mmseg_sam, in {CONFIG_ROOT}')
    print('\n'.join(list_configs()))
