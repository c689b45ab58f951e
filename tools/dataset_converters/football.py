# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Convert the Acme AI "Football Semantic Segmentation" dataset to MMSeg's layout.

Input (the dataset's original layout, 90 train / 10 test frames)::

    IN_DIR/originalTrain/Frame 1  (N).jpg                  # note the two spaces
    IN_DIR/segmentationTrain/Frame 1  (N).jpg___fuse.png   # RGBA colour mask, alpha 255
    IN_DIR/originalTest/...  and  IN_DIR/segmentationTest/...

Output: two standard MMSeg dataset roots, so that each is used like any other MMSeg dataset
(``data_root`` + ``img_dir/<split>`` + ``ann_dir/<split>``) and the binary one is a drop-in
replacement for the Kaggle adboard set in an ``AdBoardDataset`` config::

    OUT_DIR/football/img_dir/{train,test}/frame_NNNN.jpg          # FootballDataset, 12 classes
    OUT_DIR/football/ann_dir/{train,test}/frame_NNNN.png          # uint8 index masks 0..11
    OUT_DIR/football_adboard/img_dir/{train,test}/frame_NNNN.jpg  # AdBoardDataset, binary
    OUT_DIR/football_adboard/ann_dir/{train,test}/frame_NNNN.png  # 1 = Advertisement, 0 = rest

``NNNN`` is the frame number N of ``Frame 1  (N).jpg`` (four digits, zero-padded), so names have
no spaces and still point back to the original file. The images are the original JPEG bytes (not
re-encoded); the copy in ``football_adboard`` is a hard link to the one in ``football`` where the
file system allows it (a copy otherwise), so the second root costs no disk space. With
``--val-from-train K --seed S`` a seeded random K of the train frames go to a ``val`` split in
both roots (for tuning without touching test); the test split is always the dataset's own.

Class indices and the exact mask colours come from
:data:`mmseg_sam.datasets.football.FOOTBALL_CLASS_TABLE`. Every pixel must have one of those
colours: an unknown colour stops the conversion with the file, colour and pixel count.

Usage::

    python tools/dataset_converters/football.py IN_DIR --out-dir data
    python tools/dataset_converters/football.py IN_DIR --out-dir data --val-from-train 10 --seed 0

Nothing is ever written into IN_DIR. Output is built in a hidden staging folder inside OUT_DIR and
moved into place only when every file converted cleanly, so a failed run leaves OUT_DIR as it
was. A non-empty OUT_DIR is refused unless ``--overwrite`` is given; then only the two roots
above are replaced and other content of OUT_DIR is kept.
"""
from __future__ import annotations

import argparse
import functools
import logging
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np
from tqdm import tqdm

from mmseg_sam.datasets import conversion
from mmseg_sam.datasets.conversion import ConversionError
from mmseg_sam.datasets.seeded_split import seeded_order

logger = logging.getLogger('football_converter')

#: split name -> (image folder, mask folder) of the original layout.
SOURCE_DIRS: Dict[str, Tuple[str, str]] = {
    'train': ('originalTrain', 'segmentationTrain'),
    'test': ('originalTest', 'segmentationTest'),
}
#: Output dataset roots inside OUT_DIR.
MULTICLASS_ROOT = 'football'
BINARY_ROOT = 'football_adboard'
MASK_SUFFIX = '___fuse.png'
# '\s+' rather than exactly two spaces: the number of spaces is an accident of the export, the
# frame number is what identifies the frame.
IMAGE_NAME_RE = re.compile(r'^Frame 1\s+\((\d+)\)\.jpg$')


@functools.cache
def class_table() -> Tuple[tuple, int]:
    """``(FOOTBALL_CLASS_TABLE, FOOTBALL_ADVERTISEMENT_INDEX)`` from ``mmseg_sam``.

    Imported on first use. This no longer shortens start-up: the import of
    :mod:`mmseg_sam.datasets.conversion` above already loads ``mmseg_sam`` (and with it mmseg
    and torch), so ``--help`` waits for those seconds too.
    """
    from mmseg_sam.datasets.football import FOOTBALL_ADVERTISEMENT_INDEX, FOOTBALL_CLASS_TABLE
    return FOOTBALL_CLASS_TABLE, FOOTBALL_ADVERTISEMENT_INDEX


def _zeros_per_class() -> np.ndarray:
    """int64 zeros, shape (number of classes,)."""
    return np.zeros(len(class_table()[0]), dtype=np.int64)


@dataclass(frozen=True)
class FramePair:
    """One frame of the original dataset.

    Attributes:
        number: N of ``Frame 1  (N).jpg``.
        image: Path of the JPEG frame.
        mask: Path of its RGBA colour mask.
    """

    number: int
    image: Path
    mask: Path

    @property
    def out_stem(self) -> str:
        """Output file name without suffix, e.g. ``frame_0012``."""
        return f'frame_{self.number:04d}'


@dataclass
class SplitStats:
    """What was written for one split.

    Attributes:
        frames: Output stems in writing order.
        pixel_counts: Pixels per class over the split, shape (num_classes,).
        frames_with_class: Number of frames containing each class, shape (num_classes,).
    """

    frames: List[str] = field(default_factory=list)
    pixel_counts: np.ndarray = field(default_factory=_zeros_per_class)
    frames_with_class: np.ndarray = field(default_factory=_zeros_per_class)


@functools.cache
def colour_lookup() -> Tuple[np.ndarray, np.ndarray]:
    """Sorted 24-bit colour codes of the mask colours and the label of each.

    Returns:
        ``(codes, labels)``, both shape (C,), C = number of classes that have a mask colour;
        ``codes`` is sorted ascending (uint32, ``R << 16 | G << 8 | B``), ``labels`` uint8.
    """
    pairs = sorted(((r << 16) | (g << 8) | b, idx)
                   for idx, cls in enumerate(class_table()[0])
                   if cls.mask_rgb is not None
                   for r, g, b in [cls.mask_rgb])
    codes = np.array([c for c, _ in pairs], dtype=np.uint32)
    labels = np.array([i for _, i in pairs], dtype=np.uint8)
    if len(np.unique(codes)) != len(codes):
        raise RuntimeError('FOOTBALL_CLASS_TABLE has two classes with the same mask colour')
    return codes, labels


def colour_mask_to_index(mask_bgr: np.ndarray, name: str) -> np.ndarray:
    """Map an exact-colour mask to class indices.

    Args:
        mask_bgr: Mask as decoded by OpenCV, uint8, shape (H, W, 3) BGR or (H, W, 4) BGRA.
            With an alpha channel, alpha must be 255 everywhere (the colour alone carries
            the class; a transparent pixel would have no defined class).
        name: File name used in error messages.

    Returns:
        uint8 index mask, shape (H, W), values in ``0..len(FOOTBALL_CLASS_TABLE)-1``.

    Raises:
        ConversionError: On a wrong shape/dtype, alpha below 255, or a colour that is not in
            ``FOOTBALL_CLASS_TABLE`` (all unknown colours are listed with pixel counts).
    """
    if mask_bgr.dtype != np.uint8 or mask_bgr.ndim != 3 or mask_bgr.shape[2] not in (3, 4):
        raise ConversionError(
            f'{name}: expected an 8-bit RGB or RGBA colour mask, got dtype {mask_bgr.dtype} '
            f'and shape {mask_bgr.shape}')
    if mask_bgr.shape[2] == 4:
        not_opaque = int(np.count_nonzero(mask_bgr[..., 3] != 255))
        if not_opaque:
            raise ConversionError(
                f'{name}: {not_opaque} pixels have alpha < 255; expected a fully opaque mask')
    b = mask_bgr[..., 0].astype(np.uint32)
    g = mask_bgr[..., 1].astype(np.uint32)
    r = mask_bgr[..., 2].astype(np.uint32)
    codes = (r << 16) | (g << 8) | b
    known_codes, labels = colour_lookup()
    pos = np.searchsorted(known_codes, codes)
    # searchsorted gives the insertion point; a colour is known only if the code found there is
    # exactly equal (clip keeps codes above the largest known one in range for the comparison).
    pos = np.minimum(pos, len(known_codes) - 1)
    known = known_codes[pos] == codes
    if not known.all():
        bad, counts = np.unique(codes[~known], return_counts=True)
        listing = ', '.join(
            f'RGB ({c >> 16}, {(c >> 8) & 255}, {c & 255}) at {n} pixels'
            for c, n in zip(bad.tolist(), counts.tolist()))
        raise ConversionError(f'{name}: unknown mask colour(s): {listing}')
    return labels[pos]


def find_pairs(in_dir: Path, split: str) -> List[FramePair]:
    """List the frames of one split and check that images and masks pair up one to one.

    Args:
        in_dir: Root of the original dataset.
        split: ``'train'`` or ``'test'``.

    Returns:
        The frames, sorted by frame number.

    Raises:
        ConversionError: Listing every missing folder, unexpected file name, image without
            mask, mask without image and duplicated frame number.
    """
    img_name, mask_name = SOURCE_DIRS[split]
    img_dir, mask_dir = in_dir / img_name, in_dir / mask_name
    missing = [str(d) for d in (img_dir, mask_dir) if not d.is_dir()]
    if missing:
        raise ConversionError(f'input folder(s) not found: {missing} (expected the original '
                              f'layout with {sorted(d for p in SOURCE_DIRS.values() for d in p)})')
    images = sorted(p.name for p in img_dir.iterdir())
    masks = sorted(p.name for p in mask_dir.iterdir())
    problems: List[str] = []

    unexpected_images = [n for n in images if not IMAGE_NAME_RE.match(n)]
    unexpected_masks = [n for n in masks
                        if not (n.endswith(MASK_SUFFIX)
                                and IMAGE_NAME_RE.match(n[:-len(MASK_SUFFIX)]))]
    expected_names = ((img_dir, '"Frame 1  (N).jpg"', unexpected_images),
                      (mask_dir, f'"Frame 1  (N).jpg{MASK_SUFFIX}"', unexpected_masks))
    problems += [f'{folder}: unexpected file names (want {want}): {names}'
                 for folder, want, names in expected_names if names]
    image_set = {n for n in images if IMAGE_NAME_RE.match(n)}
    mask_for = {n[:-len(MASK_SUFFIX)]: n for n in masks if n not in unexpected_masks}
    no_mask = sorted(image_set - mask_for.keys())
    no_image = sorted(mask_for[n] for n in mask_for.keys() - image_set)
    if no_mask:
        problems.append(f'{img_dir}: images without a mask in {mask_dir}: {no_mask}')
    if no_image:
        problems.append(f'{mask_dir}: masks without an image in {img_dir}: {no_image}')

    pairs: Dict[int, FramePair] = {}
    for n in sorted(image_set & mask_for.keys()):
        number = int(IMAGE_NAME_RE.match(n).group(1))
        if number in pairs:
            problems.append(f'{img_dir}: frame number {number} occurs twice: '
                            f'{pairs[number].image.name!r} and {n!r}')
            continue
        pairs[number] = FramePair(number, img_dir / n, mask_dir / mask_for[n])
    if problems:
        raise ConversionError('\n'.join(problems))
    return [pairs[k] for k in sorted(pairs)]


def split_val_from_train(train: Sequence[FramePair], num_val: int,
                         seed: int) -> Tuple[List[FramePair], List[FramePair]]:
    """Move a seeded random ``num_val`` of the train frames to a val split.

    The draw is :func:`mmseg_sam.datasets.seeded_split.seeded_order`, the one that
    ``SeededSubsetDataset`` uses: over the converted train split (file names follow frame
    numbers), ``--val-from-train K --seed S`` moves the frames that
    ``SeededSubsetDataset(held_out=K, seed=S)`` would hold out.

    Args:
        train: Train frames sorted by frame number (the draw is over this order).
        num_val: Number of frames for val, ``1 <= num_val < len(train)``.
        seed: Seed of the draw.

    Returns:
        ``(train, val)``, each sorted by frame number.
    """
    if not 1 <= num_val < len(train):
        raise ConversionError(f'--val-from-train must be between 1 and {len(train) - 1} '
                              f'(the train split has {len(train)} frames), got {num_val}')
    chosen = set(seeded_order(len(train), seed)[:num_val])
    keep = [p for i, p in enumerate(train) if i not in chosen]
    val = [p for i, p in enumerate(train) if i in chosen]
    return keep, val


def _read(path: Path, flags: int) -> np.ndarray:
    """Decode an image file with OpenCV; raise a ConversionError naming it on failure."""
    return conversion.decode_image(path.read_bytes(), flags, str(path))


def _write_png(path: Path, array: np.ndarray) -> None:
    """Write a uint8 (H, W) mask as a lossless PNG."""
    path.write_bytes(conversion.encode_png(array, str(path)))


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (both our outputs), copying where links are unsupported."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def convert_split(split: str, pairs: Sequence[FramePair],
                  staging: Path) -> Tuple[SplitStats, List[str]]:
    """Convert the frames of one output split into the staging folder.

    Args:
        split: Output split name (``train``, ``val`` or ``test``).
        pairs: Frames of the split.
        staging: Staging folder that will hold the two dataset roots.

    Returns:
        ``(stats, errors)``: statistics of the converted frames and one message per frame
        that failed (bad colour, size mismatch, undecodable file); failed frames are not
        written, and the caller aborts the whole conversion if there are any.
    """
    dirs = {}
    for root in (MULTICLASS_ROOT, BINARY_ROOT):
        for kind in ('img_dir', 'ann_dir'):
            dirs[root, kind] = staging / root / kind / split
            dirs[root, kind].mkdir(parents=True, exist_ok=True)
    stats, errors = SplitStats(), []
    for pair in tqdm(pairs, desc=f'football {split}', unit='frame'):
        try:
            image = _read(pair.image, cv2.IMREAD_COLOR)
            index = colour_mask_to_index(_read(pair.mask, cv2.IMREAD_UNCHANGED), str(pair.mask))
            conversion.check_same_size(image, index, str(pair.image), str(pair.mask))
        except ConversionError as err:
            errors.append(str(err))
            continue
        stem = pair.out_stem
        img_multi = dirs[MULTICLASS_ROOT, 'img_dir'] / f'{stem}.jpg'
        shutil.copyfile(pair.image, img_multi)
        _link_or_copy(img_multi, dirs[BINARY_ROOT, 'img_dir'] / f'{stem}.jpg')
        _write_png(dirs[MULTICLASS_ROOT, 'ann_dir'] / f'{stem}.png', index)
        binary = (index == class_table()[1]).astype(np.uint8)
        _write_png(dirs[BINARY_ROOT, 'ann_dir'] / f'{stem}.png', binary)
        counts = np.bincount(index.ravel(), minlength=len(class_table()[0]))
        stats.frames.append(stem)
        stats.pixel_counts += counts
        stats.frames_with_class += counts > 0
    return stats, errors


def convert_football(in_dir: Path, out_dir: Path, val_from_train: int = 0, seed: int = 0,
                     overwrite: bool = False) -> Dict[str, SplitStats]:
    """Convert the whole dataset; see the module docstring for the layouts.

    Args:
        in_dir: Root of the original dataset (read only).
        out_dir: Where ``football/`` and ``football_adboard/`` are written.
        val_from_train: If > 0, move this many seeded random train frames to ``val``.
        seed: Seed for ``val_from_train``.
        overwrite: Allow a non-empty ``out_dir`` (replaces the two roots only).

    Returns:
        Statistics per output split.

    Raises:
        ConversionError: On any problem with the input or the output location; nothing is
            published to ``out_dir`` in that case.
    """
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    if not in_dir.is_dir():
        raise ConversionError(f'input folder {in_dir} does not exist or is not a folder')
    roots = (MULTICLASS_ROOT, BINARY_ROOT)
    conversion.check_out_dir(in_dir, out_dir, overwrite, roots)

    # Pair everything up front so that a pairing problem stops the run before any work.
    splits: Dict[str, List[FramePair]] = {}
    problems = []
    for split in SOURCE_DIRS:
        try:
            splits[split] = find_pairs(in_dir, split)
        except ConversionError as err:
            problems.append(str(err))
    if problems:
        raise ConversionError('\n'.join(problems))
    if val_from_train:
        splits['train'], splits['val'] = split_val_from_train(splits['train'], val_from_train,
                                                              seed)
        logger.info('val split (seed %d): %s', seed, [p.out_stem for p in splits['val']])

    with conversion.staging_dir(out_dir, '.football-convert-') as staging:
        stats, errors = {}, []
        for split in ('train', 'val', 'test'):
            if split in splits:
                stats[split], split_errors = convert_split(split, splits[split], staging)
                errors += split_errors
        conversion.raise_if_failed(errors)
        conversion.publish(staging, out_dir, roots)
    return stats


def log_summary(stats: Dict[str, SplitStats], out_dir: Path) -> None:
    """Log frame counts and per-class pixel fractions of each split."""
    for split, st in stats.items():
        total = int(st.pixel_counts.sum())
        logger.info('%s: %d frames -> %s/{%s,%s}/{img_dir,ann_dir}/%s', split, len(st.frames),
                    out_dir, MULTICLASS_ROOT, BINARY_ROOT, split)
        for idx, cls in enumerate(class_table()[0]):
            frac = st.pixel_counts[idx] / total if total else 0.0
            logger.info('  %2d %-20s %7.3f%% of pixels, in %d frames', idx, cls.name,
                        100.0 * frac, st.frames_with_class[idx])


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description='Convert the Acme AI "Football Semantic Segmentation" dataset (original '
                    'layout) to MMSeg layout: OUT_DIR/football (12 classes) and '
                    'OUT_DIR/football_adboard (binary Advertisement vs rest).')
    parser.add_argument('in_dir', type=Path,
                        help='folder with originalTrain, segmentationTrain, originalTest, '
                             'segmentationTest (read only)')
    conversion.add_output_arguments(
        parser, replaced='football/ and football_adboard/',
        out_dir_help='output folder; football/ and football_adboard/ are created in it')
    parser.add_argument('--val-from-train', type=int, default=0, metavar='K',
                        help='move a seeded random K of the train frames to a val split '
                             '(default 0: only train and test)')
    parser.add_argument('--seed', type=int, default=0, help='seed for --val-from-train')
    args = parser.parse_args(argv)
    if args.val_from_train < 0:
        parser.error(f'--val-from-train must be >= 0, got {args.val_from_train}')
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code (0 ok, 1 conversion error)."""
    return conversion.run_conversion(parse_args(argv), convert_football, log_summary, logger)


if __name__ == '__main__':
    sys.exit(main())
