# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Read checkpoint files safely, and name the file, the problem and the fix when one is bad.

Our encoder's ``init_cfg`` always loads through :func:`load_checkpoint_file`. Every other
checkpoint that MMEngine loads (``load_from``, ``--resume``, MMSeg's ``init_model`` and
``MMSegInferencer``, other backbones' ``Pretrained`` init) does so once
:func:`register_checkpoint_loaders` has replaced MMEngine's loaders for local paths and
``http(s)://`` URLs (and with it the download of ``open-mmlab://``, ``torchvision://`` and
``mmcls://``). That replacement is not a side effect of ``import mmseg_sam``: our tools call it,
and our configs opt in by importing :mod:`mmseg_sam.safe_checkpoint_loading` through
``custom_imports`` (which MMSeg's own tools and inference APIs honour too). Compared with
MMEngine's own loaders this:

* passes ``weights_only=True`` explicitly. MMEngine's local loader relies on torch's default
  (which ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` turns off), and its URL loader goes through
  ``torch.hub.load_state_dict_from_url``, which unpickles with ``weights_only=False``: a
  crafted file at a URL in a config would run code. Only tensors, containers and the
  allow-list of :mod:`.checkpoint_safety` are unpickled.
* names the file and the fix for the usual broken files: missing, empty (an interrupted
  save), truncated (an interrupted copy), a Git LFS pointer, an HTML error page saved by a
  failed download, any other text file; torch alone says ``EOFError``, ``KeyError: 101`` or
  ``OSError: [Errno 22]`` without the path.
* records the file in the state dict's ``_metadata`` (:class:`SourceMetadata`), so that
  :mod:`mmseg_sam.models.utils.strict_loading` can name it when the keys do not fit the model.

The tools also call :func:`check_checkpoint_file` before they build anything, so a bad file
fails in a second rather than after the datasets and the model are built.
"""
import os
import pickle
import re
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Optional, Union
from urllib.parse import urlparse

import torch

from .checkpoint_safety import mmengine_checkpoint_globals

#: Key that :class:`SourceMetadata` adds to every module's local metadata.
SOURCE_KEY = 'mmseg_sam_checkpoint_source'

_ZIP_MAGIC = b'PK\x03\x04'  # torch.save's default (zip) format
_PICKLE_MAGIC = b'\x80'  # the legacy format starts with a pickle (protocol >= 2) opcode
_URL_PREFIXES = ('http://', 'https://')

_FIX_COPY = ('copy or download it again, or use another checkpoint (e.g. an earlier '
             'iter_*.pth of the same run)')
_FIX_TOOLS = ('pass a .pth file written by tools/train.py (WORK_DIR/iter_*.pth or '
              'best_*.pth)')


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message names the file and the fix.

    ``str()`` is the message itself, also for the subclasses that are ``KeyError``s (whose
    own ``str()`` would be the repr of the message, newlines escaped).
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


class CheckpointFileError(CheckpointError, ValueError):
    """The file is not a readable PyTorch checkpoint (empty, truncated, text, ...)."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """The file holds pickled objects that ``weights_only`` loading refuses."""


class SourceMetadata(OrderedDict):
    """``state_dict._metadata`` that also hands every module the file it is loaded from.

    ``torch.nn.Module.load_state_dict`` and MMEngine's ``load_state_dict`` both give each
    module ``metadata.get(module_prefix, {})`` as ``local_metadata``; this mapping adds
    :data:`SOURCE_KEY` to what it returns. Pickled or deep-copied it is a plain
    ``OrderedDict`` again, so no file ever refers to this class.
    """

    def __init__(self, entries: Any = (), source: str = '') -> None:
        super().__init__(entries)
        self.source = source

    def get(self, key: Any, default: Any = None) -> Any:
        entry = super().get(key, default)
        if entry is None or isinstance(entry, dict):
            entry = dict(entry or {})
            entry[SOURCE_KEY] = self.source
        return entry

    def __reduce__(self) -> Any:
        return OrderedDict, (list(self.items()),)


def checkpoint_source(local_metadata: Optional[dict]) -> Optional[str]:
    """The file a module's ``local_metadata`` says it is being loaded from, if known."""
    if isinstance(local_metadata, dict):
        return local_metadata.get(SOURCE_KEY)
    return None


def is_url(path: Union[str, Path]) -> bool:
    return str(path).startswith(_URL_PREFIXES)


def _describe_text(head: bytes) -> str:
    """What a non-checkpoint file that starts with ``head`` probably is, and the fix."""
    lowered = head.lstrip().lower()
    if lowered.startswith(b'version https://git-lfs'):
        return ('is a Git LFS pointer (a small text file), not the checkpoint itself. Fix: '
                'fetch the real file with `git lfs pull`, or download it again')
    if lowered.startswith((b'<!doctype html', b'<html', b'<?xml')) or b'<html' in lowered:
        return ('is an HTML/XML page, not a checkpoint: a download that saved an error or '
                'login page. Fix: download it again from a direct link to the file')
    try:
        text = head.decode('utf-8')
    except UnicodeDecodeError:
        return (f'is not a PyTorch checkpoint (unknown format, it starts with the bytes '
                f'{head[:16]!r}). Fix: {_FIX_TOOLS}')
    return (f'is a text file, not a PyTorch checkpoint (it starts with {text[:60]!r}). '
            f'Fix: {_FIX_TOOLS}')


def file_problem(path: Union[str, Path]) -> Optional[str]:
    """Why ``path`` (an existing local path) cannot be a checkpoint, or None if it may be one.

    Cheap: reads the first bytes and, for zip files, the archive's directory at the end of the
    file (which is what an interrupted copy loses); tensors are not read.

    Returns:
        The end of a sentence that starts with the file name: what is wrong and the fix.
    """
    path = Path(path)
    if path.is_dir():
        return f'is a directory, not a checkpoint file. Fix: {_FIX_TOOLS}'
    size = path.stat().st_size
    if size == 0:
        return (f'is empty (0 bytes): the save, copy or download was interrupted. '
                f'Fix: {_FIX_COPY}')
    with open(path, 'rb') as stream:
        head = stream.read(512)
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, EOFError):
            return (f'is incomplete or damaged ({size} bytes; the end of its zip archive, '
                    f'which lists the contents, is missing): the save, copy or download was '
                    f'interrupted. Fix: {_FIX_COPY}')
        if not any(name == 'data.pkl' or name.endswith('/data.pkl') for name in names):
            return (f'is a zip archive but not a PyTorch checkpoint (no data.pkl inside). '
                    f'Fix: {_FIX_TOOLS}')
        return None
    if head.startswith(_PICKLE_MAGIC):
        return None  # torch's legacy format (or another pickle): torch.load decides
    return _describe_text(head)


def load_error_summary(error: Exception) -> str:
    """One line of a ``torch.load`` error: for a weights-only refusal, which global it was."""
    message = str(error)
    match = re.search(r'WeightsUnpickler error: (.*?)(?: Please use|\n|$)', message)
    return (match.group(1) if match else message.splitlines()[0] if message else
            type(error).__name__).strip()


def load_checkpoint_file(path: Union[str, Path], map_location: Any = None,
                         what: str = 'checkpoint', mmap: bool = False,
                         fix: Optional[str] = None) -> Any:
    """``torch.load(path, weights_only=True)`` with every failure naming the file.

    Args:
        path: a local file.
        map_location: as for :func:`torch.load`.
        what: how the messages name the file, e.g. ``'--resume'`` or ``'load_from'``.
        mmap: map the file instead of reading the tensors (zip format only); for checks.
        fix: replaces the default fix of damaged-file errors (e.g. to delete a download).

    Returns:
        The loaded object; a state dict inside (``obj['state_dict']`` or ``obj`` itself)
        carries :class:`SourceMetadata` naming ``path``.

    Raises:
        FileNotFoundError: no such file.
        CheckpointFileError: the file is empty, truncated, text, a directory, ...
        UnsafeCheckpointError: the file pickles objects that ``weights_only`` refuses (the
            message names the refused global); nothing of it was executed.
    """
    path = Path(os.path.expanduser(str(path)))
    if not path.exists():
        raise FileNotFoundError(f'{what} file not found: {path} (check the path; a relative '
                                f'path is relative to the current directory {os.getcwd()})')
    problem = file_problem(path)
    if problem is not None:
        if fix is not None:
            problem = problem.split(' Fix: ')[0] + f' Fix: {fix}'
        raise CheckpointFileError(f'{what} {path} {problem}')
    try:
        with mmengine_checkpoint_globals():
            checkpoint = torch.load(path, map_location=map_location, weights_only=True,
                                    mmap=mmap and _is_zip(path))
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpointError(
            f'{what} {path} was refused: it pickles objects besides tensors and plain '
            f'containers ({load_error_summary(error)}). Checkpoints are loaded with '
            f'torch.load(weights_only=True), so that a file cannot run code; nothing of it '
            f'was executed. Fix: use a checkpoint written by tools/train.py, or, if you '
            f'trust this file, re-save just its weights: '
            f"torch.save({{'state_dict': torch.load(f, weights_only=False)['state_dict']}}, "
            f'new_file)') from None
    except (RuntimeError, OSError, EOFError, KeyError, ValueError, IndexError,
            TypeError) as error:
        detail = str(error).splitlines()[0] if str(error) else ''
        raise CheckpointFileError(
            f'{what} {path} cannot be read as a PyTorch checkpoint '
            f'({type(error).__name__}: {detail}). Fix: {fix or _FIX_COPY}') from error
    return _tag_source(checkpoint, str(path))


def _is_zip(path: Path) -> bool:
    with open(path, 'rb') as stream:
        return stream.read(4) == _ZIP_MAGIC


def _tag_source(checkpoint: Any, source: str) -> Any:
    """Give the state dict inside ``checkpoint`` a :class:`SourceMetadata` naming ``source``."""
    if not isinstance(checkpoint, dict):
        return checkpoint
    nested = isinstance(checkpoint.get('state_dict'), dict)
    state_dict = checkpoint['state_dict'] if nested else checkpoint
    if not isinstance(state_dict, OrderedDict):  # a plain dict takes no attribute
        state_dict = OrderedDict(state_dict)
    state_dict._metadata = SourceMetadata(getattr(state_dict, '_metadata', None) or (),
                                          source=source)
    if nested:
        checkpoint['state_dict'] = state_dict
        return checkpoint
    return state_dict


def check_checkpoint_file(path: Union[str, Path], what: str = 'checkpoint') -> None:
    """Fail now, naming ``path``, if it is not a readable, safe checkpoint; URLs are skipped.

    Reads the pickled structure with the tensors memory-mapped (zip format), so it costs
    about a second even for a multi-gigabyte file. The same errors as
    :func:`load_checkpoint_file`, plus a ``CheckpointFileError`` when the file holds no
    dict (a bare tensor, a list, ...).
    """
    if is_url(path):
        return
    checkpoint = load_checkpoint_file(path, map_location='cpu', what=what, mmap=True)
    if not isinstance(checkpoint, dict):
        raise CheckpointFileError(
            f'{what} {path} holds a {type(checkpoint).__name__}, not a checkpoint dict '
            f"(a state dict, or one under 'state_dict'). Fix: {_FIX_TOOLS}")


# ---------------------------------------------------------------------- MMEngine loaders
# MMEngine logs 'Loads checkpoint by <name[10:]> backend', hence MMEngine's own names.
def load_from_local(filename: str, map_location: Any = None) -> Any:
    """MMEngine ``CheckpointLoader`` scheme for local paths (replaces MMEngine's)."""
    return load_checkpoint_file(filename, map_location)


def download_checkpoint(url: str, model_dir: Optional[str] = None,
                        progress: bool = False) -> Path:
    """Download ``url`` once into ``model_dir`` (default: torch hub's ``checkpoints``).

    The cache is the one ``torch.hub.load_state_dict_from_url`` and MMEngine use, so files
    they downloaded before are reused. ``download_url_to_file`` writes to a temporary file
    and renames it at the end, so an interrupted download leaves no partial file behind.
    """
    model_dir = Path(model_dir or Path(torch.hub.get_dir()) / 'checkpoints')
    model_dir.mkdir(parents=True, exist_ok=True)
    cached = model_dir / os.path.basename(urlparse(url).path)
    if not cached.exists():
        torch.hub.download_url_to_file(url, str(cached), None, progress=progress)
    return cached


def load_from_http(url: str, map_location: Any = None, model_dir: Optional[str] = None,
                        progress: bool = os.isatty(0)) -> Any:
    """MMEngine ``CheckpointLoader`` scheme for ``http(s)://`` (replaces MMEngine's).

    As MMEngine's: in distributed runs rank 0 downloads first and the others wait. Unlike
    it, the file is loaded with ``weights_only=True``.
    """
    from mmengine.dist import get_dist_info
    rank, world_size = get_dist_info()
    cached = download_checkpoint(url, model_dir, progress) if rank == 0 else None
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            cached = download_checkpoint(url, model_dir, progress)
    return load_checkpoint_file(cached, map_location, what=f'checkpoint downloaded from {url}:',
                                fix=f'delete {cached}; it is downloaded again on the next run')


def register_checkpoint_loaders() -> None:
    """Make MMEngine load local and ``http(s)://`` checkpoints through this module.

    ``open-mmlab://``, ``torchvision://`` and ``mmcls://`` (used by MMSeg baselines) resolve
    a URL and call MMEngine's module-level ``load_from_http``; that name is pointed at ours
    too, so they download and load the same way. Other schemes (``s3://``, ``pavi://``)
    keep MMEngine's loaders.
    """
    from mmengine.runner import checkpoint as mmengine_checkpoint
    loader = mmengine_checkpoint.CheckpointLoader
    if loader._schemes.get('') is not load_from_local:
        loader.register_scheme('', load_from_local, force=True)
        loader.register_scheme(list(_URL_PREFIXES), load_from_http, force=True)
    mmengine_checkpoint.load_from_http = load_from_http
