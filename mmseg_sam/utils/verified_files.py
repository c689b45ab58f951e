# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Files pinned by size and SHA-256: hashing, verification, atomic writes, the cache folder.

Everything the demo downloads goes through these few functions, so whatever the source, a file
lands in the cache only complete and with its pinned hash (see :mod:`mmseg_sam.utils.assets`).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import urllib.request
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Union

__all__ = ['AssetError', 'CHUNK_BYTES', 'ChecksumError', 'Log', 'PathLike', 'copy_stream',
           'default_cache_dir', 'download_url', 'resolve_cache_dir', 'sha256_of',
           'staging_file', 'verify_file']

Log = Callable[[str], None]
PathLike = Union[str, 'os.PathLike[str]']

#: 1 MiB: large enough that hashing a 40 MB file is not dominated by call overhead.
CHUNK_BYTES = 1 << 20


class AssetError(RuntimeError):
    """An asset could not be fetched, or what was fetched is not what was expected."""


class ChecksumError(AssetError):
    """A fetched or cached file does not have the pinned size and SHA-256."""


def default_cache_dir() -> Path:
    """Return the cache directory for downloaded assets (it is not created here).

    ``$MMSEG_SAM_CACHE`` if set and non-empty, else ``$XDG_CACHE_HOME/mmseg-sam`` if
    ``XDG_CACHE_HOME`` is set and non-empty, else ``~/.cache/mmseg-sam``.
    """
    explicit = os.environ.get('MMSEG_SAM_CACHE')
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get('XDG_CACHE_HOME')
    base = Path(xdg).expanduser() if xdg else Path.home() / '.cache'
    return base / 'mmseg-sam'


def sha256_of(path: PathLike) -> str:
    """Return the SHA-256 of the file at ``path`` as lower-case hex, reading it in chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b''):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_cache_dir(cache_dir: PathLike | None) -> Path:
    """Return ``cache_dir`` (or the default) as an existing directory."""
    path = default_cache_dir() if cache_dir is None else Path(cache_dir).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise AssetError(f'cache_dir={str(path)!r}: cannot create the cache directory: {err}'
                         ) from err
    if not path.is_dir():
        raise AssetError(f'cache_dir={str(path)!r}: expected a directory')
    return path


def verify_file(path: Path, *, size: int, sha256: str, source: str) -> None:
    """Raise :class:`ChecksumError` unless ``path`` has the expected size and SHA-256.

    The hash is computed even when the size is already wrong, so that the message always shows
    both hashes (useful when comparing with what a mirror publishes).
    """
    actual_size = path.stat().st_size
    actual_sha = sha256_of(path)
    if actual_size != size or actual_sha != sha256:
        raise ChecksumError(
            f'checksum mismatch for {path.name} from {source}: expected sha256 {sha256} '
            f'({size} bytes), got sha256 {actual_sha} ({actual_size} bytes)')


@contextlib.contextmanager
def staging_file(final: Path) -> Iterator[Path]:
    """Yield an unused temporary path beside ``final`` and delete whatever is there on exit.

    Writers fill the temporary file, verify it and ``os.replace`` it onto ``final``; since the
    rename is atomic on one file system, ``final`` is either absent, the old file or the complete
    new one. Anything left at the temporary path on exit (an error, a failed verification) is
    removed, so no partial or bad file survives. The file is not pre-created (as ``mkstemp``
    would, with mode 0600) so that the writer's ``open`` gives it the usual umask permissions.
    """
    tmp = final.with_name(f'.{final.name}.{os.getpid()}.{secrets.token_hex(6)}.part')
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def copy_stream(src: BinaryIO, dest: Path) -> int:
    """Copy a binary stream into ``dest`` and return the number of bytes written."""
    written = 0
    with open(dest, 'wb') as out:
        for chunk in iter(lambda: src.read(CHUNK_BYTES), b''):
            out.write(chunk)
            written += len(chunk)
    return written


def download_url(url: str, dest: Path, *, timeout: float) -> None:
    """Download ``url`` into ``dest``; raises ``OSError`` (``URLError``, timeouts) on failure.

    Kept as one small module-level function so that tests can replace it and stay offline.
    """
    with urllib.request.urlopen(url, timeout=timeout) as response:
        copy_stream(response, dest)
