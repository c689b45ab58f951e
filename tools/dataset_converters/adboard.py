# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Convert the Kaggle "football-match-adboards-mask-dataset" (swagatajana) to MMSeg's layout.

Input: the Kaggle download, either the zip file or the folder it was extracted to::

    [prefix/]Tagged_Images/Tagged Images/**/<...frame...N...>.jpg   # frames, any sub-folders
    [prefix/]Masks/Masks/<...mask...N...>.png                       # 0/255 masks

The mask of an image has the image's file name with ``frame`` replaced by ``mask`` and the
extension ``.png`` (``frame_1234.jpg`` -> ``mask_1234.png``). Other files are ignored (and
logged).

Output (``AdBoardDataset``; masks hold 0 = background, 1 = adboard)::

    OUT_DIR/img_dir/{train,val,test}/<image stem>.jpg   # original JPEG bytes, not re-encoded
    OUT_DIR/ann_dir/{train,val,test}/<image stem>.png   # uint8, shape (H, W), values 0/1

Split, following the reference notebook: the frame number N is parsed from the image name (the
digits after ``frame``). Frames with N < 4000 form the pool (1346 frames in the real set),
frames with N > 4000 are ``test`` (274), and frame 4000 itself is excluded (the reference's two
ranges leave it out; it is logged). The pool is split into ``train`` (``--train-fraction``,
default 0.1: 135 frames) and ``val`` (the rest, 1211) with ``--seed`` (default 0).

The train/val draw is the one every split and subset of this package uses
(:func:`mmseg_sam.datasets.seeded_split.seeded_order`): the pool, sorted by frame number, is put
in seeded order; the first ``n_train = round(f * len(pool))`` (halves up, so 135 of 1346 at
0.1, the reference's count) are train, the rest val. The reference notebook's counts are
matched, not its membership: its pool order and draw are unknown.

Checks (all reported by file name; the conversion stops and nothing is published): image without
mask and mask without image (``--skip-unpaired`` turns these into logged warnings and leaves the
files out), mask values neither within 0/255 nor within 0/1, image/mask size mismatch,
undecodable files, names without a frame number, two images with the same file name in
different sub-folders.

Usage::

    python tools/dataset_converters/adboard.py archive.zip --out-dir data/adboard
    python tools/dataset_converters/adboard.py extracted/ --out-dir data/adboard \\
        --train-fraction 0.1 --seed 0

Nothing is written into the input. Output is built in a hidden staging folder inside OUT_DIR and
moved into place only when every file converted cleanly. A non-empty OUT_DIR is refused unless
``--overwrite`` is given; then only ``img_dir/`` and ``ann_dir/`` are replaced.
"""
from __future__ import annotations

import argparse
import logging
import math
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Dict, List, Sequence, Tuple

import cv2
from tqdm import tqdm

from mmseg_sam.datasets import conversion
from mmseg_sam.datasets.conversion import ConversionError
from mmseg_sam.datasets.seeded_split import seeded_order

logger = logging.getLogger('adboard_converter')

IMAGE_DIR_PARTS = ('Tagged_Images', 'Tagged Images')
MASK_DIR_PARTS = ('Masks', 'Masks')
#: Frames below this number form the train/val pool, frames above it the test split.
SPLIT_FRAME = 4000
FRAME_RE = re.compile(r'frame\D*(\d+)')
OUT_ROOTS = ('img_dir', 'ann_dir')
SPLITS = ('train', 'val', 'test')


@dataclass(frozen=True)
class Sample:
    """One image with its mask, as member names of the source (POSIX relative paths).

    Attributes:
        image: Path of the image inside the source.
        mask: Path of the mask inside the source.
        frame: Frame number parsed from the image name.
    """

    image: str
    mask: str
    frame: int

    @property
    def stem(self) -> str:
        """Output file name without suffix: the image's own stem."""
        return PurePosixPath(self.image).stem


class Source:
    """Read-only access to the download, zip file or folder, by relative POSIX path.

    Args:
        path: The zip file or the extracted folder.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        if self.path.is_dir():
            self.names = sorted(p.relative_to(self.path).as_posix()
                                for p in self.path.rglob('*') if p.is_file())
        elif self.path.is_file():
            try:
                self._zip = zipfile.ZipFile(self.path)
            except zipfile.BadZipFile as err:
                raise ConversionError(f'{self.path}: not a zip file and not a folder') from err
            self.names = sorted(n for n in self._zip.namelist() if not n.endswith('/'))
        else:
            raise ConversionError(f'input {self.path} does not exist')

    def read(self, name: str) -> bytes:
        """The bytes of the member ``name``."""
        if self._zip is not None:
            return self._zip.read(name)
        return (self.path / name).read_bytes()

    def close(self) -> None:
        """Close the zip file, if any."""
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _under(parts: Tuple[str, ...], dir_parts: Tuple[str, ...]) -> int:
    """Index just after the first occurrence of ``dir_parts`` in ``parts``, or -1."""
    k = len(dir_parts)
    for i in range(len(parts) - k):
        if parts[i:i + k] == dir_parts:
            return i + k
    return -1


def find_samples(names: Sequence[str], skip_unpaired: bool = False) -> List[Sample]:
    """Pair images with masks by file name.

    Args:
        names: Relative POSIX paths of all files of the source.
        skip_unpaired: Log unpaired files as warnings and leave them out instead of failing.

    Returns:
        The pairs, sorted by (frame number, image name).

    Raises:
        ConversionError: Listing every image without mask, mask without image (unless
            ``skip_unpaired``), image name without a frame number, duplicate image/mask name,
            or if no image was found at all.
    """
    images: Dict[str, str] = {}  # base name -> member path
    masks: Dict[str, str] = {}
    problems: List[str] = []
    ignored: List[str] = []
    for name in names:
        parts = PurePosixPath(name).parts
        i = _under(parts, IMAGE_DIR_PARTS)
        m = _under(parts, MASK_DIR_PARTS)
        if i >= 0 and parts[-1].lower().endswith('.jpg'):
            table = images
        elif m >= 0 and m == len(parts) - 1 and parts[-1].lower().endswith('.png'):
            table = masks
        else:
            ignored.append(name)
            continue
        base = parts[-1]
        if base in table:
            problems.append(f'file name {base!r} occurs twice: {table[base]!r} and {name!r}')
        else:
            table[base] = name
    if ignored:
        logger.info('ignored %d file(s) that are neither %s/**/*.jpg nor %s/*.png: %s',
                    len(ignored), '/'.join(IMAGE_DIR_PARTS), '/'.join(MASK_DIR_PARTS),
                    ignored[:10] + (['...'] if len(ignored) > 10 else []))
    if not images:
        raise ConversionError(f'no images found under {"/".join(IMAGE_DIR_PARTS)}/ '
                              '(is this the football-match-adboards-mask-dataset download?)')

    samples, no_mask = [], []
    used_masks = set()
    stems: Dict[str, str] = {}  # output stem -> image member path
    for base, path in sorted(images.items()):
        stem = PurePosixPath(base).stem
        match = FRAME_RE.search(stem)
        if match is None:
            problems.append(f'{path}: no frame number in the name (expected "frame<N>")')
            continue
        if stem in stems:
            # e.g. 'a.jpg' and 'a.JPG': both would be written as a.jpg / a.png.
            problems.append(f'{path} and {stems[stem]} would get the same output name {stem!r}')
            continue
        stems[stem] = path
        mask_base = stem.replace('frame', 'mask') + '.png'
        if mask_base not in masks:
            no_mask.append(f'{path} (expected mask {mask_base!r})')
            continue
        used_masks.add(mask_base)
        samples.append(Sample(path, masks[mask_base], int(match.group(1))))
    no_image = sorted(masks[b] for b in masks.keys() - used_masks)

    unpaired = []
    if no_mask:
        unpaired.append(f'{len(no_mask)} image(s) without mask: {no_mask}')
    if no_image:
        unpaired.append(f'{len(no_image)} mask(s) without image: {no_image}')
    if unpaired and skip_unpaired:
        for msg in unpaired:
            logger.warning('skipped %s', msg)
    else:
        problems += unpaired
    if problems:
        raise ConversionError('\n'.join(problems))
    return sorted(samples, key=lambda s: (s.frame, s.image))


def num_train(pool_size: int, train_fraction: float) -> int:
    """Train-set size: ``round(train_fraction * pool_size)``, halves rounded up.

    Rounding (rather than scikit-learn's floor) reproduces the reference's 135 of 1346 at 0.1.
    The 1e-9 guards against products like ``0.1 * 25 = 2.5000000000000004`` vs ``2.4999..``.
    """
    return int(math.floor(train_fraction * pool_size + 0.5 + 1e-9))


def split_samples(samples: Sequence[Sample], train_fraction: float,
                  seed: int) -> Dict[str, List[Sample]]:
    """Split into train/val (pool, frame < 4000) and test (frame > 4000); drop frame 4000.

    Args:
        samples: All pairs, sorted by (frame, image name); the permutation is over this order.
        train_fraction: Fraction of the pool for train, in (0, 1).
        seed: Seed of :func:`~mmseg_sam.datasets.seeded_split.seeded_order`.

    Returns:
        ``{'train': [...], 'val': [...], 'test': [...]}``, each sorted by frame number.
    """
    if not 0.0 < train_fraction < 1.0:
        raise ConversionError(f'--train-fraction must be in (0, 1), got {train_fraction}')
    pool = [s for s in samples if s.frame < SPLIT_FRAME]
    test = [s for s in samples if s.frame > SPLIT_FRAME]
    excluded = [s.image for s in samples if s.frame == SPLIT_FRAME]
    if excluded:
        logger.info('excluded frame %d (between the pool < %d and test > %d, as in the '
                    'reference): %s', SPLIT_FRAME, SPLIT_FRAME, SPLIT_FRAME, excluded)
    n_train = num_train(len(pool), train_fraction)
    if not 1 <= n_train < len(pool):
        raise ConversionError(
            f'--train-fraction {train_fraction} of a pool of {len(pool)} frames (< '
            f'{SPLIT_FRAME}) gives {n_train} train frames; train and val must both be '
            'non-empty')
    order = seeded_order(len(pool), seed)
    train_idx, val_idx = sorted(order[:n_train]), sorted(order[n_train:])
    return {'train': [pool[i] for i in train_idx],
            'val': [pool[i] for i in val_idx],
            'test': test}


def convert_adboard(source_path: Path, out_dir: Path, train_fraction: float = 0.1,
                    seed: int = 0, overwrite: bool = False,
                    skip_unpaired: bool = False) -> Dict[str, int]:
    """Convert the download; see the module docstring for layouts, split and checks.

    Args:
        source_path: The Kaggle zip file or extracted folder (read only).
        out_dir: Dataset root to write ``img_dir/`` and ``ann_dir/`` into.
        train_fraction: Fraction of the pool (frames < 4000) for train.
        seed: Seed of the train/val split.
        overwrite: Allow a non-empty ``out_dir`` (replaces ``img_dir``/``ann_dir`` only).
        skip_unpaired: Warn about and skip unpaired images/masks instead of failing.

    Returns:
        Number of written frames per split.

    Raises:
        ConversionError: On any input problem; nothing is published to ``out_dir`` then.
    """
    source_path, out_dir = Path(source_path), Path(out_dir)
    conversion.check_out_dir(source_path, out_dir, overwrite, OUT_ROOTS)
    with Source(source_path) as source:
        splits = split_samples(find_samples(source.names, skip_unpaired), train_fraction, seed)
        with conversion.staging_dir(out_dir, '.adboard-convert-') as staging:
            errors = []
            for split in SPLITS:
                img_dir, ann_dir = conversion.split_dirs(staging, split)
                for sample in tqdm(splits[split], desc=f'adboard {split}', unit='frame'):
                    try:
                        img_bytes = source.read(sample.image)
                        image = conversion.decode_image(img_bytes, cv2.IMREAD_COLOR, sample.image)
                        raw_mask = conversion.decode_image(source.read(sample.mask),
                                                           cv2.IMREAD_UNCHANGED, sample.mask)
                        mask, _ = conversion.to_binary(raw_mask, sample.mask)
                        conversion.check_same_size(image, mask, sample.image, sample.mask)
                    except ConversionError as err:
                        errors.append(str(err))
                        continue
                    (img_dir / f'{sample.stem}.jpg').write_bytes(img_bytes)
                    png = conversion.encode_png(mask, sample.mask)
                    (ann_dir / f'{sample.stem}.png').write_bytes(png)
            conversion.raise_if_failed(errors)
            conversion.publish(staging, out_dir, OUT_ROOTS)
    return {split: len(splits[split]) for split in SPLITS}


def log_counts(counts: Dict[str, int], out_dir: Path) -> None:
    """Log the number of written frames of each split."""
    for split, n in counts.items():
        logger.info('%s: %d frames -> %s/{img_dir,ann_dir}/%s', split, n, out_dir, split)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description='Convert the Kaggle football-match-adboards-mask-dataset (zip or extracted '
                    'folder) to MMSeg layout OUT_DIR/{img_dir,ann_dir}/{train,val,test} with '
                    '0/1 masks.')
    parser.add_argument('source_path', metavar='SOURCE', type=Path,
                        help='the Kaggle zip file or extracted folder')
    parser.add_argument('--skip-unpaired', action='store_true',
                        help='warn about images without mask / masks without image and leave '
                             'them out, instead of stopping')
    conversion.add_output_arguments(parser, replaced='img_dir/ and ann_dir/')
    parser.add_argument('--train-fraction', type=float, default=0.1,
                        help=f'fraction of the frames < {SPLIT_FRAME} used for train, the rest '
                             'is val (default 0.1; rounded, halves up)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the train/val split')
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code (0 ok, 1 conversion error)."""
    return conversion.run_conversion(parse_args(argv), convert_adboard, log_counts, logger)


if __name__ == '__main__':
    sys.exit(main())
