# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Helpers shared by the dataset converters in ``tools/dataset_converters/``.

The converters are scripts (loaded by file path in the tests), so the code they have in common
lives here, in the package, where both can import it. Every converter follows the same pattern,
which these helpers implement once:

* check the output location before reading anything (:func:`check_out_dir`);
* decode and check every frame, collecting one message per failed frame rather than stopping at
  the first (:func:`decode_image`, :func:`check_same_size`, :func:`to_single_channel`,
  :func:`to_binary`, :func:`encode_png`, :func:`raise_if_failed`);
* write everything into a hidden staging folder inside OUT_DIR (:func:`staging_dir`) and move
  the finished dataset roots into place only when every frame converted cleanly
  (:func:`publish`), so that a failed run leaves OUT_DIR as it was;
* report input problems as :class:`ConversionError`, which the command line turns into a
  logged error and exit code 1 (:func:`run_conversion`).
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence, Tuple, TypeVar

import cv2
import numpy as np

T = TypeVar('T')


class ConversionError(RuntimeError):
    """The input is not what the converter expects; the message names the files."""


def check_out_dir(source: Path, out_dir: Path, overwrite: bool, roots: Sequence[str]) -> None:
    """Refuse output locations that could touch the input or silently replace data.

    Args:
        source: The converter's input (file or folder); it is never written to.
        out_dir: The output folder given as ``--out-dir``.
        overwrite: Whether ``--overwrite`` was given.
        roots: The folders inside ``out_dir`` that the conversion replaces.

    Raises:
        ConversionError: If OUT_DIR is the input folder or inside it, the input lies inside a
            root that the conversion replaces, OUT_DIR is a file, or OUT_DIR is non-empty and
            ``overwrite`` is False.
    """
    src, dst = source.resolve(), out_dir.resolve()
    if src.is_dir() and (src == dst or src in dst.parents):
        raise ConversionError(f'--out-dir {out_dir} lies inside the input {source}; the input '
                              'is never written to, choose an output folder outside it')
    for root in roots:
        replaced = dst / root
        if src == replaced or replaced in src.parents:
            raise ConversionError(f'the input {source} lies inside {replaced}, which the '
                                  'conversion replaces; move the input or choose another '
                                  '--out-dir')
    if dst.exists() and not dst.is_dir():
        raise ConversionError(f'--out-dir {out_dir} exists and is not a folder')
    if dst.is_dir() and any(dst.iterdir()) and not overwrite:
        raise ConversionError(f'--out-dir {out_dir} is not empty; pass --overwrite to replace '
                              f'{list(roots)} in it (other content is kept)')


@contextmanager
def staging_dir(out_dir: Path, prefix: str) -> Iterator[Path]:
    """Create OUT_DIR (if needed) and a fresh hidden staging folder in it; remove it on exit.

    The staging folder is inside OUT_DIR so that :func:`publish` moves on one file system
    (``os.replace`` is then a rename, not a copy).

    Args:
        out_dir: The output folder.
        prefix: Name prefix of the staging folder, e.g. ``'.adboard-convert-'``.

    Yields:
        The staging folder.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=out_dir))
    try:
        yield staging
    finally:
        # Our own staging folder only; after publish it is empty.
        shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, out_dir: Path, roots: Sequence[str]) -> None:
    """Move the finished roots from the staging folder to OUT_DIR, replacing old ones."""
    for root in roots:
        target = out_dir / root
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            shutil.rmtree(target)
        os.replace(staging / root, target)


def split_dirs(root: Path, split: str) -> Tuple[Path, Path]:
    """Create and return ``root/img_dir/<split>`` and ``root/ann_dir/<split>``, MMSeg's layout."""
    img_dir, ann_dir = root / 'img_dir' / split, root / 'ann_dir' / split
    img_dir.mkdir(parents=True)
    ann_dir.mkdir(parents=True)
    return img_dir, ann_dir


def raise_if_failed(errors: Sequence[str]) -> None:
    """Raise one ConversionError listing all per-frame ``errors``, if there are any.

    Called before :func:`publish`, so a single bad frame publishes nothing.
    """
    if errors:
        raise ConversionError(f'{len(errors)} frame(s) failed, nothing was written:\n'
                              + '\n'.join(errors))


def decode_image(data: bytes, flags: int, name: str) -> np.ndarray:
    """Decode image bytes with OpenCV; raise a ConversionError naming ``name`` on failure.

    Args:
        data: The encoded file content.
        flags: ``cv2.IMREAD_*`` flags.
        name: File name for the error message.
    """
    # imdecode instead of imread: it also serves zip members, and gives a None we turn into a
    # clear error instead of imread's silent None for unreadable paths.
    array = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    if array is None:
        raise ConversionError(f'{name}: cannot be decoded as an image')
    return array


def check_same_size(image: np.ndarray, mask: np.ndarray, image_name: str,
                    mask_name: str) -> None:
    """Raise a ConversionError if ``image`` (H, W, C) and ``mask`` (H, W) differ in size."""
    if image.shape[:2] != mask.shape:
        raise ConversionError(
            f'size mismatch: image {image_name} is {image.shape[1]}x{image.shape[0]}, '
            f'mask {mask_name} is {mask.shape[1]}x{mask.shape[0]} (width x height)')


def value_listing(values: Sequence[int], counts: Sequence[int], limit: int = 20) -> str:
    """``'v (n px), ...'`` for mask values and their pixel counts, at most ``limit`` of them.

    Args:
        values: The values, in the order to list them.
        counts: Pixel count of each value.
        limit: List at most this many; the rest is summarised as ``... and K more``.
    """
    items = [f'{v} ({n} px)' for v, n in zip(values, counts)]
    if len(items) > limit:
        items = items[:limit] + [f'... and {len(items) - limit} more']
    return ', '.join(items)


def to_single_channel(mask: np.ndarray, name: str, hint: str = '') -> np.ndarray:
    """An 8-bit mask as (H, W), also when a grey mask was saved as RGB(A).

    Args:
        mask: As decoded by OpenCV with ``IMREAD_UNCHANGED``: uint8, shape (H, W), or
            (H, W, 3|4) with equal colour channels and, with 4 channels, alpha 255 everywhere.
        name: File name for error messages.
        hint: Appended to the error messages (e.g. which option reads colour masks).

    Returns:
        uint8 mask, shape (H, W).

    Raises:
        ConversionError: On other dtypes/shapes, transparent pixels or differing channels.
    """
    suffix = f'; {hint}' if hint else ''
    if mask.dtype != np.uint8:
        raise ConversionError(f'{name}: expected an 8-bit mask, got dtype {mask.dtype}{suffix}')
    if mask.ndim == 3 and mask.shape[2] in (3, 4):
        if mask.shape[2] == 4:
            not_opaque = int(np.count_nonzero(mask[..., 3] != 255))
            if not_opaque:
                raise ConversionError(f'{name}: {not_opaque} pixels have alpha < 255; expected '
                                      f'an opaque mask (save it without alpha){suffix}')
            mask = mask[..., :3]
        if not ((mask[..., 0] == mask[..., 1]) & (mask[..., 1] == mask[..., 2])).all():
            raise ConversionError(f'{name}: colour mask with differing channels; expected a '
                                  f'single-channel (grey) mask{suffix}')
        return np.ascontiguousarray(mask[..., 0])
    if mask.ndim != 2:
        raise ConversionError(
            f'{name}: expected a single-channel mask, got shape {mask.shape}{suffix}')
    return mask


def to_binary(mask: np.ndarray, name: str, hint: str = '') -> Tuple[np.ndarray, str]:
    """Turn a 0/1 or a 0/255 mask into a 0/1 mask, and say which of the two it was.

    Args:
        mask: As for :func:`to_single_channel` (a grey mask saved as RGB(A) is accepted).
        name: File name for error messages.
        hint: Appended to the error messages, e.g. what to do with index masks.

    Returns:
        ``(binary, scale)``: uint8 mask, shape (H, W), values 0/1; and ``'0/1'`` or ``'0/255'``
        for the values found, ``'0'`` for a mask of only 0 (either scale).

    Raises:
        ConversionError: As :func:`to_single_channel`, or if the values are neither within
            {0, 1} nor within {0, 255} (all values listed with pixel counts).
    """
    mask = to_single_channel(mask, name, hint)
    counts = np.bincount(mask.ravel(), minlength=256)
    present = set(np.flatnonzero(counts).tolist())
    if present <= {0}:
        return np.zeros(mask.shape, np.uint8), '0'
    if present <= {0, 1}:
        return mask.copy(), '0/1'
    if present <= {0, 255}:
        return (mask == 255).astype(np.uint8), '0/255'
    values = sorted(present)
    raise ConversionError(
        f'{name}: expected a binary mask with values within {{0, 1}} or within {{0, 255}}, '
        f'found {value_listing(values, counts[values].tolist())}' + (f'; {hint}' if hint else ''))


def encode_png(array: np.ndarray, name: str) -> bytes:
    """Encode a uint8 (H, W) mask as a lossless PNG; ``name`` is used in the error message."""
    ok, buf = cv2.imencode('.png', array)
    if not ok:
        raise ConversionError(f'{name}: PNG encoding failed')
    return buf.tobytes()


def add_output_arguments(parser: argparse.ArgumentParser, replaced: str,
                         out_dir_help: str = 'output dataset root') -> None:
    """Add the ``--out-dir`` and ``--overwrite`` options every converter has.

    Args:
        parser: The converter's parser.
        replaced: What a conversion replaces inside OUT_DIR, for the help of ``--overwrite``,
            e.g. ``'img_dir/ and ann_dir/'``.
        out_dir_help: Help of ``--out-dir``.
    """
    parser.add_argument('--out-dir', type=Path, required=True, help=out_dir_help)
    parser.add_argument('--overwrite', action='store_true',
                        help=f'allow a non-empty --out-dir; replaces {replaced} in it, keeps '
                             'everything else')


def run_conversion(args: argparse.Namespace, convert: Callable[..., T],
                   report: Callable[[T, Path], None], logger: logging.Logger) -> int:
    """Run a conversion for a command line: log progress, turn input problems into exit code 1.

    Args:
        args: The parsed command line; its options are ``convert``'s keyword arguments (each
            converter names its options after its parameters), ``args.out_dir`` goes to
            ``report``.
        convert: Does the conversion and returns what ``report`` logs.
        report: Logs the result of a successful conversion, given the output folder.
        logger: The converter's logger.

    Returns:
        The process exit code: 0 on success, 1 after a :class:`ConversionError` (logged; any
        other exception propagates with its traceback, as it is a bug rather than bad input).
    """
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')
    start = time.perf_counter()
    try:
        result = convert(**vars(args))
    except ConversionError as err:
        logger.error('%s', err)
        return 1
    report(result, args.out_dir)
    logger.info('done in %.1f s', time.perf_counter() - start)
    return 0
