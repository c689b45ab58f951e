# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Convert your own folder of images and a folder of masks to MMSeg's layout.

Input: two folders. Only their top-level files are read; an image and its mask have the same
file name without suffix (the *stem*: ``img_001.jpg`` <-> ``img_001.png``). Suffixes are
matched case-insensitively::

    IMAGES_DIR/<stem>.{jpg,jpeg,png,bmp,tif,tiff,webp}
    MASKS_DIR/<stem>.{png,bmp,tif,tiff}      # lossless only; .jpg/.jpeg masks are refused

Masks named after the image with an ending, e.g. ``img_001_mask.png`` or
``img_001.jpg___fuse.png``, pair with ``--mask-suffix _mask.png`` (``.jpg___fuse.png``).

Other files (other suffixes, hidden files, sub-folders) are ignored and logged. The mask
format is chosen with ``--mode``:

* ``binary`` (default): grey masks with values within {0, 1} or within {0, 255} (either per
  mask; a mask of only 0 is fine). Written as 0/1. Classes ``background``, ``foreground``
  unless ``--classes`` gives two other names.
* ``index``: grey masks whose values are class indices 0..C-1, 255 = ignore (kept as 255).
  C is the number of ``--classes``, or else the largest value found + 1 (``class_0``, ...).
* ``colour``: RGB(A) masks with one exact colour per class. ``--colour-table FILE.json`` maps
  them, ``{"road": [128, 64, 128], "car": [0, 0, 142]}`` (RGB, in class-index order). Without
  a table, the colours are discovered over all masks (black first, then sorted; this reads the
  masks twice) and the table is logged as JSON, to save, rename and pass next time.

Output (``FolderSegDataset``)::

    OUT_DIR/img_dir/{train,test}/<stem><img_suffix>
    OUT_DIR/ann_dir/{train,test}/<stem>.png    # uint8, shape (H, W), values 0..C-1, 255
    OUT_DIR/dataset_meta.json                  # classes, palette, suffixes, counts, ...

When all images have one suffix (``.jpeg`` counts as ``.jpg``, ``.tiff`` as ``.tif``) their
bytes are copied unchanged; otherwise every image is decoded and written as a (lossless) PNG.

Split: the pairs are sorted by stem and ordered with
:func:`mmseg_sam.datasets.seeded_split.seeded_order` (``--seed``, default 0); the first
``round(F * N)`` (at least 1) become ``test``, the rest ``train`` (``--test-fraction F``,
default 0.2; 0 writes only ``train``). Or ``--test-list FILE`` names the test stems, one per
line (blank lines and ``#`` comments ignored).

Checks (all reported by file name; the conversion stops and nothing is published): two files
with the same stem in one folder, lossy mask files, undecodable or empty files, image/mask size
mismatch, mask values that do not fit ``--mode`` (listed with pixel counts), unknown colours,
unknown stems in ``--test-list``. Images without mask and masks without image are warnings and
left out, errors with ``--strict-pairs``.

Usage::

    python tools/dataset_converters/folder.py images/ masks/ --out-dir data/mydata
    python tools/dataset_converters/folder.py images/ masks/ --out-dir data/mydata \\
        --mode index --classes background road car --test-fraction 0.1 --seed 1
    python tools/dataset_converters/folder.py images/ masks/ --out-dir data/mydata \\
        --mode colour --colour-table colours.json --test-list test_stems.txt

Nothing is written into the input. Output is built in a hidden staging folder inside OUT_DIR and
moved into place only when every file converted cleanly. A non-empty OUT_DIR is refused unless
``--overwrite`` is given; then only ``img_dir/``, ``ann_dir/`` and ``dataset_meta.json`` are
replaced.
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from tqdm import tqdm

from mmseg_sam.datasets import conversion
from mmseg_sam.datasets.conversion import ConversionError
from mmseg_sam.datasets.folder import META_FILE
from mmseg_sam.datasets.seeded_split import resolve_count, seeded_order

logger = logging.getLogger('folder_converter')

MODES = ('binary', 'index', 'colour')
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
MASK_SUFFIXES = ('.png', '.bmp', '.tif', '.tiff')
LOSSY_MASK_SUFFIXES = ('.jpg', '.jpeg')
#: Suffixes of the same format, written as the key's value.
SUFFIX_ALIASES = {'.jpeg': '.jpg', '.tiff': '.tif'}
OUT_ROOTS = ('img_dir', 'ann_dir', META_FILE)
SPLITS = ('train', 'test')
SEG_MAP_SUFFIX = '.png'
IGNORE_INDEX = 255
#: At most this many classes: labels 0..254, 255 is the ignore index.
MAX_CLASSES = 255
DEFAULT_TEST_FRACTION = 0.2
BINARY_CLASSES = ('background', 'foreground')
BINARY_PALETTE = [[0, 0, 0], [255, 0, 0]]
BINARY_FORMATS = {frozenset({'0/1'}): 'binary 0/1', frozenset({'0/255'}): 'binary 0/255',
                  frozenset({'0/1', '0/255'}): 'binary mixed 0/1 and 0/255'}
TRAIN_CONFIGS = {
    'binary': 'configs/folder/convtrans-ln_sam-vit-t-frozen_1xb2-500_folder-binary-1024x1024.py',
    'multiclass':
        'configs/folder/convtrans-ln_sam-vit-t-frozen_1xb2-500_folder-multiclass-1024x1024.py',
}
BINARY_HINT = ('anti-aliased or resized masks have in-between values at the edges: re-export '
               'them without smoothing (nearest-neighbour); masks of class indices: --mode '
               'index (which also keeps 255 as ignore); colour masks: --mode colour')
INDEX_HINT = 'colour (or palette) masks: use --mode colour'
COLOUR_HINT = ('anti-aliased or resized masks have in-between colours at the edges: re-export '
               'them without smoothing (nearest-neighbour)')


@dataclass(frozen=True)
class Pair:
    """One image with its mask.

    Attributes:
        stem: The common file name without suffix; the output name.
        image: Path of the image.
        mask: Path of the mask.
    """

    stem: str
    image: Path
    mask: Path


@dataclass(frozen=True)
class ColourTable:
    """Class names and their exact mask colours, in class-index order.

    Attributes:
        names: Class names; index = label value.
        colours: One ``(R, G, B)`` per class.
    """

    names: Tuple[str, ...]
    colours: Tuple[Tuple[int, int, int], ...]

    def lookup(self) -> Tuple[np.ndarray, np.ndarray]:
        """``(codes, labels)``: sorted 24-bit colour codes (``R << 16 | G << 8 | B``) and the
        class index of each."""
        pairs = sorted((_code(c), i) for i, c in enumerate(self.colours))
        return (np.array([c for c, _ in pairs], dtype=np.uint32),
                np.array([i for _, i in pairs], dtype=np.uint8))

    def to_json(self) -> str:
        """The table in ``--colour-table`` form."""
        return '{\n' + ',\n'.join(f'  {json.dumps(n)}: {list(c)}'
                                  for n, c in zip(self.names, self.colours)) + '\n}'


@dataclass
class Summary:
    """What :func:`convert_folder` wrote.

    Attributes:
        counts: Number of pairs per split (``{'train': n, 'test': m}``).
        classes: Class names; index = label value.
        mask_format: How the masks were read (``'binary 0/255'``, ``'index'``, ...).
        class_pixel_fraction: Fraction of the (non-ignored) train pixels of each class.
        meta: Everything written to ``dataset_meta.json``.
        train_command: The command that trains on the output.
    """

    counts: Dict[str, int]
    classes: List[str]
    mask_format: str
    class_pixel_fraction: Dict[str, float]
    meta: dict = field(repr=False)
    train_command: str = ''


def _code(rgb: Sequence[int]) -> int:
    r, g, b = rgb
    return (int(r) << 16) | (int(g) << 8) | int(b)


def _rgb(code: int) -> Tuple[int, int, int]:
    return (code >> 16) & 255, (code >> 8) & 255, code & 255


def _canonical_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    return SUFFIX_ALIASES.get(suffix, suffix)


def _few(names: Sequence[str], limit: int = 20) -> List[str]:
    """At most ``limit`` names, for log lines and messages about many files."""
    names = list(names)
    return names[:limit] + ([f'... and {len(names) - limit} more'] if len(names) > limit else [])


def index_palette(num_classes: int) -> List[List[int]]:
    """A fixed palette for index masks: PASCAL VOC's (black, dark red, dark green, ...).

    Distinct colours for up to 256 classes, the same for every run.
    """
    palette = []
    for i in range(num_classes):
        r = g = b = 0
        c = i
        for bit in range(7, -1, -1):
            r |= (c & 1) << bit
            g |= ((c >> 1) & 1) << bit
            b |= ((c >> 2) & 1) << bit
            c >>= 3
        palette.append([r, g, b])
    return palette


def list_folder(folder: Path, suffixes: Sequence[str], what: str,
                refused: Sequence[str] = (),
                name_end: Optional[str] = None) -> Tuple[Dict[str, Path], List[str]]:
    """The files of ``folder`` (top level only) with one of ``suffixes``, by stem.

    Args:
        folder: The images or masks folder.
        suffixes: Accepted lower-case suffixes.
        what: ``'IMAGES_DIR'`` or ``'MASKS_DIR'``, for messages.
        refused: Suffixes that are an error rather than ignored (lossy masks).
        name_end: If given, only files whose name ends with it are read, and their stem is
            the name without it (``--mask-suffix``: ``a_mask.png`` -> ``a``).

    Returns:
        ``(files, problems)``: stem -> path of the accepted files, and one message per
        duplicate stem or refused file.

    Raises:
        ConversionError: If ``folder`` is not a folder.
    """
    if not folder.is_dir():
        raise ConversionError(f'{what} {folder} does not exist or is not a folder')
    files: Dict[str, Path] = {}
    problems, ignored, lossy = [], [], []
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        stem = path.name[:-len(name_end)] if name_end else path.stem
        if path.name.startswith('.') or not path.is_file():
            ignored.append(path.name + ('/' if path.is_dir() else ''))
        elif name_end and (not path.name.endswith(name_end) or not stem):
            ignored.append(path.name)
        elif suffix in refused:
            lossy.append(path.name)
        elif suffix not in suffixes:
            ignored.append(path.name)
        elif stem in files:
            problems.append(f'{what}: {files[stem].name!r} and {path.name!r} have the same '
                            f'stem {stem!r}, so both would pair with one file; remove or '
                            'rename one of them')
        else:
            files[stem] = path
    if lossy:
        problems.append(
            f'{what} {folder}: {len(lossy)} JPEG mask(s) {_few(lossy)}: JPEG is lossy and '
            'changes mask values at the edges of every region, so such masks cannot be '
            f'converted exactly; export the masks as PNG (expected {list(suffixes)})')
    if ignored:
        logger.info('%s %s: ignored %d file(s) that are not %s: %s', what, folder, len(ignored),
                    '/'.join(suffixes), _few(ignored))
    return files, problems


def find_pairs(images_dir: Path, masks_dir: Path, strict_pairs: bool = False,
               mask_suffix: Optional[str] = None) -> Tuple[List[Pair], List[str]]:
    """Pair images with masks by stem.

    Args:
        images_dir: Folder of the images.
        masks_dir: Folder of the masks.
        strict_pairs: Make unpaired files an error instead of a logged warning.
        mask_suffix: The end of a mask's file name after the image stem (``--mask-suffix``,
            e.g. ``'_mask.png'``); None = the mask's own suffix only.

    Returns:
        ``(pairs, unpaired)``: the pairs sorted by stem, and the stems of unpaired files (left
        out).

    Raises:
        ConversionError: Listing every duplicate stem, JPEG mask, unpaired file (with
            ``strict_pairs``), or if no pair was found.
    """
    images, problems = list_folder(images_dir, IMAGE_SUFFIXES, 'IMAGES_DIR')
    masks, mask_problems = list_folder(masks_dir, MASK_SUFFIXES, 'MASKS_DIR',
                                       refused=LOSSY_MASK_SUFFIXES, name_end=mask_suffix)
    problems += mask_problems
    no_mask = sorted(images.keys() - masks.keys())
    no_image = sorted(masks.keys() - images.keys())
    unpaired = []
    if no_mask:
        unpaired.append(f'{len(no_mask)} image(s) in {images_dir} without a mask of the same '
                        f'stem in {masks_dir}: {_few([images[s].name for s in no_mask])}')
    if no_image:
        unpaired.append(f'{len(no_image)} mask(s) in {masks_dir} without an image of the same '
                        f'stem in {images_dir}: {_few([masks[s].name for s in no_image])}')
    if unpaired and strict_pairs:
        problems += [msg + ' (--strict-pairs; add the missing files, or drop --strict-pairs to '
                     'leave these out)' for msg in unpaired]
    else:
        for msg in unpaired:
            logger.warning('left out %s', msg)
    if problems:
        raise ConversionError('\n'.join(problems))
    pairs = [Pair(stem, images[stem], masks[stem]) for stem in sorted(images.keys() & masks.keys())]
    if not pairs:
        raise ConversionError(
            f'no image/mask pairs: {len(images)} image(s) in {images_dir} and {len(masks)} '
            f'mask(s) in {masks_dir} share no stem; an image and its mask need the same file '
            f'name without suffix (img_1.jpg <-> img_1.png), or pass the end of the mask names '
            f'after the image stem as --mask-suffix (img_1.jpg <-> img_1_mask.png: '
            f'--mask-suffix _mask.png). Images: {list(IMAGE_SUFFIXES)}, masks: '
            f'{list(MASK_SUFFIXES)}')
    return pairs, sorted(no_mask + no_image)


def read_test_list(path: Path) -> List[str]:
    """The stems of ``--test-list``: one per line, blank lines and ``#`` comments ignored."""
    try:
        text = Path(path).read_text(encoding='utf-8')
    except (OSError, UnicodeDecodeError) as err:
        raise ConversionError(f'--test-list {path}: cannot be read ({err}); expected a text '
                              'file with one stem per line') from err
    stems: List[str] = []
    for line in text.splitlines():
        line = line.split('#', 1)[0].strip()
        if line and line not in stems:
            stems.append(line)
    if not stems:
        raise ConversionError(f'--test-list {path} names no stem; write one stem per line, or '
                              'use --test-fraction')
    return stems


def split_pairs(pairs: Sequence[Pair], test_fraction: Optional[float] = None,
                test_stems: Optional[Sequence[str]] = None, seed: int = 0,
                unpaired: Sequence[str] = ()) -> Dict[str, List[Pair]]:
    """Split into ``train`` and ``test``.

    Args:
        pairs: All pairs, sorted by stem (the seeded order is over this order).
        test_fraction: Fraction of the pairs for test, in [0, 1); ``round(F * N)``, at least
            1 when F > 0. 0 gives no test split.
        test_stems: The test stems instead (``--test-list``).
        seed: Seed of :func:`seeded_order`.
        unpaired: Stems that were left out unpaired (to explain an unknown test stem).

    Returns:
        ``{'train': [...], 'test': [...]}``, each sorted by stem.

    Raises:
        ConversionError: On an unknown test stem or an empty train split.
    """
    if test_stems is not None:
        known = {p.stem for p in pairs}
        unknown = [s for s in test_stems if s not in known]
        if unknown:
            left_out = set(unpaired)
            names = [s + (' (left out: no image or no mask)' if s in left_out else '')
                     for s in unknown]
            raise ConversionError(
                f'--test-list: {len(unknown)} stem(s) are not among the {len(pairs)} pairs: '
                f'{_few(names)}; list stems (file names without suffix) of paired files')
        chosen = set(test_stems)
        option = '--test-list'
    else:
        n_test = 0
        if test_fraction:
            try:
                n_test = resolve_count(float(test_fraction), len(pairs), '--test-fraction')
            except ValueError as err:
                raise ConversionError(f'{err}; expected a fraction in [0, 1)') from err
        chosen = {pairs[i].stem for i in seeded_order(len(pairs), seed)[:n_test]}
        option = f'--test-fraction {test_fraction}'
    test = [p for p in pairs if p.stem in chosen]
    train = [p for p in pairs if p.stem not in chosen]
    if not train:
        raise ConversionError(f'{option} puts all {len(pairs)} pair(s) into test, so train is '
                              'empty; use a smaller --test-fraction (0 = no test split) or a '
                              'shorter --test-list')
    return {'train': train, 'test': test}


def read_colour_table(path: Path) -> ColourTable:
    """Read ``--colour-table``: a JSON object ``{"name": [R, G, B], ...}`` in class order."""

    def no_duplicate_keys(items: List[Tuple[str, object]]) -> dict:
        names = [k for k, _ in items]
        twice = sorted({k for k in names if names.count(k) > 1})
        if twice:
            raise ConversionError(f'--colour-table {path}: class name(s) {twice} occur twice')
        return dict(items)

    expected = ('expected a JSON object {"class name": [R, G, B], ...} with 0-255 values, '
                'first class = index 0')
    try:
        table = json.loads(Path(path).read_text(encoding='utf-8'),
                           object_pairs_hook=no_duplicate_keys)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConversionError(f'--colour-table {path}: cannot be read ({err}); {expected}') \
            from err
    if not isinstance(table, dict) or not table:
        raise ConversionError(f'--colour-table {path}: {expected}')
    colours = []
    for name, rgb in table.items():
        if not (isinstance(rgb, list) and len(rgb) == 3
                and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255
                        for v in rgb)):
            raise ConversionError(f'--colour-table {path}: class {name!r} has colour {rgb!r}; '
                                  f'{expected}')
        colours.append(tuple(rgb))
    if not 2 <= len(colours) <= MAX_CLASSES:
        raise ConversionError(f'--colour-table {path}: {len(colours)} classes; expected 2 to '
                              f'{MAX_CLASSES} (index 255 is ignore)')
    seen: Dict[tuple, str] = {}
    for name, rgb in zip(table, colours):
        if rgb in seen:
            raise ConversionError(f'--colour-table {path}: classes {seen[rgb]!r} and {name!r} '
                                  f'have the same colour {list(rgb)}; give each class its own')
        seen[rgb] = name
    return ColourTable(tuple(table), tuple(colours))


def _load(path: Path, flags: int) -> Tuple[bytes, np.ndarray]:
    """The bytes of an image file and the decoded array; ConversionError naming it on failure."""
    fix = 'replace the file, or remove it (and its image/mask)'
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConversionError(f'{path}: cannot be read ({err.strerror}); {fix}') from err
    if not data:
        raise ConversionError(f'{path}: empty file (0 bytes); {fix}')
    try:
        return data, conversion.decode_image(data, flags, str(path))
    except cv2.error as err:
        raise ConversionError(f'{path}: cannot be decoded as an image ({err}); {fix}') from err
    except ConversionError as err:
        raise ConversionError(f'{err}; {fix}') from err


def rgb_codes(mask: np.ndarray, name: str) -> np.ndarray:
    """24-bit colour codes (``R << 16 | G << 8 | B``), shape (H, W), of an 8-bit mask.

    Args:
        mask: As decoded by OpenCV with ``IMREAD_UNCHANGED``: (H, W, 3) BGR, (H, W, 4) BGRA
            with alpha 255 everywhere, or (H, W) grey (value v = colour (v, v, v)).
        name: File name for error messages.
    """
    if mask.dtype != np.uint8 or not (mask.ndim == 2
                                      or (mask.ndim == 3 and mask.shape[2] in (3, 4))):
        raise ConversionError(f'{name}: expected an 8-bit RGB or RGBA colour mask, got dtype '
                              f'{mask.dtype} and shape {mask.shape}')
    if mask.ndim == 2:
        return mask.astype(np.uint32) * 0x010101
    if mask.shape[2] == 4:
        not_opaque = int(np.count_nonzero(mask[..., 3] != 255))
        if not_opaque:
            raise ConversionError(f'{name}: {not_opaque} pixels have alpha < 255; expected an '
                                  'opaque colour mask (save it without alpha)')
    return ((mask[..., 2].astype(np.uint32) << 16) | (mask[..., 1].astype(np.uint32) << 8)
            | mask[..., 0].astype(np.uint32))


def colour_to_index(mask: np.ndarray, name: str, lookup: Tuple[np.ndarray, np.ndarray],
                    table_hint: str) -> np.ndarray:
    """Map an exact-colour mask to class indices with ``ColourTable.lookup()``.

    Raises:
        ConversionError: As :func:`rgb_codes`, or on colours not in the table (listed as RGB
            with pixel counts, most frequent first).
    """
    codes = rgb_codes(mask, name)
    known_codes, labels = lookup
    if not len(known_codes):
        pos, known = np.zeros(codes.shape, np.intp), np.zeros(codes.shape, bool)
    else:
        # searchsorted gives the insertion point; a colour is known only if the code there is
        # equal (the clip keeps codes above the largest known one in range).
        pos = np.minimum(np.searchsorted(known_codes, codes), len(known_codes) - 1)
        known = known_codes[pos] == codes
    if not known.all():
        bad, counts = np.unique(codes[~known], return_counts=True)
        order = np.argsort(-counts, kind='stable')
        raise ConversionError(
            f'{name}: colour(s) not in the colour table: '
            + conversion.value_listing([f'RGB {list(_rgb(int(c)))}' for c in bad[order]],
                            counts[order].tolist())
            + f'; {table_hint}; {COLOUR_HINT}')
    return labels[pos]


def index_mask(mask: np.ndarray, name: str, num_classes: Optional[int]) -> np.ndarray:
    """Check an index mask: grey, 8-bit (or 16-bit with values up to 255), values < C or 255.

    Args:
        mask: As decoded by OpenCV with ``IMREAD_UNCHANGED``.
        name: File name for error messages.
        num_classes: C from ``--classes``; None = not known yet (checked after all masks).

    Returns:
        uint8 mask, shape (H, W), values as in the file.
    """
    if mask.dtype == np.uint16 and mask.ndim == 2:
        if int(mask.max(initial=0)) > 255:
            raise ConversionError(f'{name}: 16-bit mask with values up to {int(mask.max())}; at '
                                  f'most {MAX_CLASSES} classes (0..254, 255 = ignore) fit')
        mask = mask.astype(np.uint8)
    mask = conversion.to_single_channel(mask, name, INDEX_HINT)
    if num_classes is not None:
        counts = np.bincount(mask.ravel(), minlength=256)
        bad = (np.flatnonzero(counts[num_classes:IGNORE_INDEX]) + num_classes).tolist()
        if bad:
            listing = conversion.value_listing(bad, counts[bad].tolist())
            raise ConversionError(
                f'{name}: values {listing} are not class '
                f'indices of the {num_classes} --classes (expected 0..{num_classes - 1}, or 255 '
                'for ignore); give more --classes, or omit --classes to use one class per value')
    return mask


def discover_colours(pairs: Sequence[Pair]) -> Tuple[ColourTable, int]:
    """The colours of all masks of ``pairs`` as a table: black first, then sorted by (R, G, B).

    Masks that cannot be read are skipped here; the conversion pass reports them with the other
    problems.

    Returns:
        ``(table, skipped)``: classes named ``class_0``, ...; and the number of skipped masks.

    Raises:
        ConversionError: If there are more colours than :data:`MAX_CLASSES`.
    """
    totals: Dict[int, int] = {}
    skipped = 0
    for pair in tqdm(pairs, desc='folder colours', unit='mask'):
        try:
            codes = rgb_codes(_load(pair.mask, cv2.IMREAD_UNCHANGED)[1], str(pair.mask))
        except ConversionError:
            skipped += 1
            continue
        for code, n in zip(*np.unique(codes, return_counts=True)):
            totals[int(code)] = totals.get(int(code), 0) + int(n)
    codes = sorted(totals, key=lambda c: (c != 0, c))
    if len(codes) > MAX_CLASSES:
        top = sorted(totals.items(), key=lambda item: -item[1])
        listing = conversion.value_listing([f'RGB {list(_rgb(c))}' for c, _ in top],
                                           [n for _, n in top], 10)
        raise ConversionError(
            f'the masks hold {len(codes)} different colours, more than {MAX_CLASSES} classes '
            f'(most frequent: {listing}); '
            f'a colour mask needs one exact colour per class; {COLOUR_HINT}; for masks of class '
            'indices use --mode index')
    table = ColourTable(tuple(f'class_{i}' for i in range(len(codes))),
                        tuple(_rgb(c) for c in codes))
    return table, skipped


def name_discovered(table: ColourTable, classes: Optional[Sequence[str]]) -> ColourTable:
    """The discovered ``table`` with the ``--classes`` names, checking that the counts match."""
    if len(table.colours) < 2:
        raise ConversionError(
            f'the masks hold {len(table.colours)} colour(s) {[list(c) for c in table.colours]}; '
            'a segmentation needs at least 2 classes (check MASKS_DIR)')
    if not classes:
        return table
    if len(classes) != len(table.colours):
        raise ConversionError(
            f'--classes gives {len(classes)} names but the masks hold {len(table.colours)} '
            f'colours:\n{table.to_json()}\ngive one name per colour in this order, or save the '
            'table above, rename its keys and pass it as --colour-table')
    return ColourTable(tuple(classes), table.colours)


class MaskReader:
    """Turns decoded masks into index masks as ``--mode`` says, and names the classes after.

    Args:
        mode: ``'binary'``, ``'index'`` or ``'colour'``.
        classes: ``--classes``, or None.
        table: Colour mode: the colour table (read or discovered).
        discovered: Colour mode: ``table`` was discovered (named ``class_*``); ``classes``
            renames it once all masks are read.
        colour_table: Colour mode: the ``--colour-table`` file, for messages.
    """

    def __init__(self, mode: str, classes: Optional[Sequence[str]] = None,
                 table: Optional[ColourTable] = None, discovered: bool = False,
                 colour_table: Optional[Path] = None) -> None:
        self.mode = mode
        self.classes = list(classes) if classes else None
        self.table = table
        self.discovered = discovered
        self.lookup = table.lookup() if table is not None else None
        if discovered:
            self.table_hint = 'the mask changed during the conversion; run it again'
        else:
            self.table_hint = f'add it to --colour-table {colour_table}, or fix the mask'
        #: Binary mode: scale (``'0/1'``, ``'0/255'``, ``'0'``) -> names of the masks.
        self.scales: Dict[str, List[str]] = {}

    def __call__(self, raw: np.ndarray, name: str) -> np.ndarray:
        """The uint8 (H, W) index mask of ``raw`` (as decoded with ``IMREAD_UNCHANGED``).

        Raises:
            ConversionError: If the mask does not fit the mode (names ``name``).
        """
        if self.mode == 'binary':
            mask, scale = conversion.to_binary(raw, name, BINARY_HINT)
            self.scales.setdefault(scale, []).append(Path(name).name)
            return mask
        if self.mode == 'index':
            return index_mask(raw, name, len(self.classes) if self.classes else None)
        return colour_to_index(raw, name, self.lookup, self.table_hint)

    def describe(self, values: np.ndarray) -> Tuple[List[str], List[List[int]], str]:
        """Classes, palette and mask format, once every mask was read.

        Args:
            values: Pixels per mask value (256 bins) over all written masks.

        Raises:
            ConversionError: Index mode without ``--classes`` and fewer than 2 values; colour
                mode with fewer than 2 discovered colours or ``--classes`` of another count.
        """
        if self.mode == 'binary':
            found = frozenset(self.scales) - {'0'}
            if not found:
                logger.warning('every mask is all 0 (background): no foreground pixel at all')
            elif len(found) == 2:
                logger.warning('mixed binary masks: %d are 0/1 %s and %d are 0/255 %s; both are '
                               'read as 0 = background, 1 = foreground',
                               len(self.scales['0/1']), _few(self.scales['0/1'], 5),
                               len(self.scales['0/255']), _few(self.scales['0/255'], 5))
            return (self.classes or list(BINARY_CLASSES), BINARY_PALETTE,
                    BINARY_FORMATS.get(found, 'binary 0/1'))
        if self.mode == 'index':
            names = self.classes
            if names is None:
                present = np.flatnonzero(values[:IGNORE_INDEX])
                num_classes = int(present[-1]) + 1 if present.size else 0
                if num_classes < 2:
                    raise ConversionError(
                        f'--mode index: the masks hold only the value(s) '
                        f'{np.flatnonzero(values).tolist()} (255 = ignore), so there are '
                        'fewer than 2 classes; for 0/255 masks use --mode binary')
                names = [f'class_{i}' for i in range(num_classes)]
                logger.info('--mode index: found values 0..%d, so %d classes %s (name them '
                            'with --classes)', num_classes - 1, num_classes, names)
            return names, index_palette(len(names)), 'index'
        table = name_discovered(self.table, self.classes) if self.discovered else self.table
        return list(table.names), [list(c) for c in table.colours], 'colour'


def convert_pair(pair: Pair,
                 read_mask: Callable[[np.ndarray, str], np.ndarray]
                 ) -> Tuple[bytes, np.ndarray, np.ndarray]:
    """Read and check one pair.

    Args:
        pair: The image and mask.
        read_mask: Turns the decoded mask into an index mask (a :class:`MaskReader`).

    Returns:
        ``(image bytes, decoded BGR image, uint8 (H, W) index mask)``.

    Raises:
        ConversionError: Listing every problem of the pair (undecodable image or mask, mask
            values, size mismatch), each naming its file.
    """
    problems, image, img_bytes, raw, mask = [], None, b'', None, None
    try:
        img_bytes, image = _load(pair.image, cv2.IMREAD_COLOR)
    except ConversionError as err:
        problems.append(str(err))
    try:
        raw = _load(pair.mask, cv2.IMREAD_UNCHANGED)[1]
        mask = read_mask(raw, str(pair.mask))
    except ConversionError as err:
        problems.append(str(err))
    if image is not None and raw is not None:
        try:
            conversion.check_same_size(image, raw[:, :, 0] if raw.ndim == 3 else raw,
                                       str(pair.image), str(pair.mask))
        except ConversionError as err:
            message = str(err)
            if image.shape[:2] == raw.shape[1::-1]:
                message += ('; width and height are swapped: the image may carry an EXIF '
                            'rotation, which image readers (and training) apply')
            problems.append(message + '; image and mask must have the same size')
    if problems:
        raise ConversionError('\n'.join(problems))
    return img_bytes, image, mask


def _check_classes(classes: Optional[Sequence[str]], mode: str,
                   colour_table: Optional[Path]) -> None:
    """Option checks that need no input file."""
    if mode not in MODES:
        raise ConversionError(f'--mode {mode!r}: expected one of {list(MODES)}')
    if colour_table is not None and mode != 'colour':
        raise ConversionError(f'--colour-table is for --mode colour, not --mode {mode}; add '
                              '--mode colour or drop --colour-table')
    if classes is None:
        return
    if colour_table is not None:
        raise ConversionError('--classes and --colour-table both name the classes; give the '
                              'names as the keys of the colour table and drop --classes')
    twice = sorted({c for c in classes if list(classes).count(c) > 1})
    if twice:
        raise ConversionError(f'--classes: name(s) {twice} occur twice; give each class its own '
                              'name')
    if mode == 'binary' and len(classes) != 2:
        raise ConversionError(f'--classes gives {len(classes)} name(s) for --mode binary, '
                              'expected exactly 2 (background first, e.g. --classes '
                              'background adboard); for more classes use --mode index')
    if not 2 <= len(classes) <= MAX_CLASSES:
        raise ConversionError(f'--classes gives {len(classes)} name(s); expected 2 to '
                              f'{MAX_CLASSES} (index 255 is ignore)')


def dump_meta(meta: dict) -> str:
    """``meta`` as indented JSON, with each ``[R, G, B]`` on one line."""
    text = json.dumps(meta, indent=2)
    return re.sub(r'\[\s+(\d+),\s+(\d+),\s+(\d+)\s+\]', r'[\1, \2, \3]', text) + '\n'


def train_command(out_dir: Path, num_classes: int) -> str:
    """The command that trains on the converted data with the folder config templates."""
    env = f'FOLDER_DATA_ROOT={shlex.quote(str(out_dir))}'
    if num_classes == 2:
        return f'{env} python tools/train.py {TRAIN_CONFIGS["binary"]}'
    return (f'{env} python tools/train.py {TRAIN_CONFIGS["multiclass"]} --cfg-options '
            f'model.decode_head.num_classes={num_classes} '
            f'model.decode_head.out_channels={num_classes}')


def convert_folder(images_dir: Path, masks_dir: Path, out_dir: Path, mode: str = 'binary',
                   classes: Optional[Sequence[str]] = None, colour_table: Optional[Path] = None,
                   test_fraction: Optional[float] = None, test_list: Optional[Path] = None,
                   seed: int = 0, overwrite: bool = False, strict_pairs: bool = False,
                   mask_suffix: Optional[str] = None) -> Summary:
    """Convert a folder of images and a folder of masks; see the module docstring.

    Args:
        images_dir: Folder of the images (read only).
        masks_dir: Folder of the masks (read only).
        out_dir: Dataset root to write ``img_dir/``, ``ann_dir/`` and ``dataset_meta.json``.
        mode: ``'binary'``, ``'index'`` or ``'colour'``: how the masks are read.
        classes: Class names (binary: 2; index: C; colour without table: one per colour).
        colour_table: ``--colour-table`` JSON file (colour mode).
        test_fraction: Fraction of the pairs for test (default 0.2; 0 = no test split).
        test_list: File of test stems, instead of ``test_fraction``.
        seed: Seed of the split by ``test_fraction``.
        overwrite: Allow a non-empty ``out_dir`` (replaces the output roots only).
        strict_pairs: Fail on images without mask / masks without image instead of leaving
            them out.
        mask_suffix: End of the mask file names after the image stem (``'_mask.png'``);
            None pairs ``a.jpg`` with ``a.png``.

    Returns:
        The summary: counts per split, classes, mask format, class balance, meta.

    Raises:
        ConversionError: On any option or input problem; nothing is published then.
    """
    images_dir, masks_dir, out_dir = Path(images_dir), Path(masks_dir), Path(out_dir)
    classes = list(classes) if classes else None
    _check_classes(classes, mode, colour_table)
    if test_fraction is not None and test_list is not None:
        raise ConversionError('--test-fraction and --test-list both choose the test split; '
                              'give only one')
    if test_list is None:
        test_fraction = DEFAULT_TEST_FRACTION if test_fraction is None else float(test_fraction)
        if not 0.0 <= test_fraction < 1.0:
            raise ConversionError(f'--test-fraction {test_fraction}: expected a fraction in '
                                  '[0, 1) (0 = no test split)')
    table = read_colour_table(colour_table) if colour_table is not None else None
    test_stems = read_test_list(test_list) if test_list is not None else None
    if images_dir.resolve() == masks_dir.resolve():
        raise ConversionError(f'IMAGES_DIR and MASKS_DIR are the same folder {images_dir}; an '
                              'image and its mask share a stem, so put the masks into a folder '
                              'of their own')
    for source in (images_dir, masks_dir):
        conversion.check_out_dir(source, out_dir, overwrite, OUT_ROOTS)

    if mask_suffix is not None and Path(mask_suffix).suffix.lower() not in MASK_SUFFIXES:
        raise ConversionError(f'--mask-suffix {mask_suffix!r} must end with a mask file suffix '
                              f'{list(MASK_SUFFIXES)}, e.g. _mask.png')
    pairs, unpaired = find_pairs(images_dir, masks_dir, strict_pairs, mask_suffix)
    splits = split_pairs(pairs, test_fraction, test_stems, seed, unpaired)
    if not splits['test']:
        logger.warning('no test split (--test-fraction 0): writing only train; evaluate on '
                       'held-out data before trusting the model')

    if mode == 'colour' and table is None:
        table, skipped = discover_colours(pairs)
        if not skipped:
            logger.info('discovered %d mask colours; save this as a JSON file, rename the '
                        'classes and pass it as --colour-table next time:\n%s',
                        len(table.colours), table.to_json())
        reader = MaskReader(mode, classes, table, discovered=True)
    else:
        reader = MaskReader(mode, classes, table, colour_table=colour_table)

    suffixes = sorted({_canonical_suffix(p.image) for p in pairs})
    reencode = len(suffixes) > 1
    img_suffix = '.png' if reencode else suffixes[0]
    if reencode:
        logger.info('the images have different suffixes %s: writing all as PNG', suffixes)

    hist = np.zeros(256, dtype=np.int64)  # train pixels per mask value
    values = np.zeros(256, dtype=np.int64)  # pixels per mask value, all splits
    with conversion.staging_dir(out_dir, '.folder-convert-') as staging:
        errors: List[str] = []
        for split in SPLITS:
            if not splits[split]:
                continue
            img_dir, ann_dir = conversion.split_dirs(staging, split)
            for pair in tqdm(splits[split], desc=f'folder {split}', unit='frame'):
                try:
                    img_bytes, image, mask = convert_pair(pair, reader)
                except ConversionError as err:
                    errors.append(str(err))
                    continue
                frame_values = np.bincount(mask.ravel(), minlength=256)
                values += frame_values
                if split == 'train':
                    hist += frame_values
                if reencode:
                    img_bytes = conversion.encode_png(image, str(pair.image))
                (img_dir / f'{pair.stem}{img_suffix}').write_bytes(img_bytes)
                (ann_dir / f'{pair.stem}{SEG_MAP_SUFFIX}').write_bytes(
                    conversion.encode_png(mask, str(pair.mask)))
        conversion.raise_if_failed(errors)

        names, palette, mask_format = reader.describe(values)
        labelled = int(hist[:len(names)].sum())
        fraction = {name: round(float(hist[i]) / labelled, 6) if labelled else 0.0
                    for i, name in enumerate(names)}
        counts = {split: len(splits[split]) for split in SPLITS}
        meta = dict(classes=names, palette=palette, img_suffix=img_suffix,
                    seg_map_suffix=SEG_MAP_SUFFIX, counts=counts, mask_format=mask_format,
                    class_pixel_fraction=fraction, seed=seed)
        if test_list is not None:
            meta['test_list'] = str(test_list)
        else:
            meta['test_fraction'] = test_fraction
        (staging / META_FILE).write_text(dump_meta(meta), encoding='utf-8')
        conversion.publish(staging, out_dir, OUT_ROOTS)

    if hist[IGNORE_INDEX]:
        logger.info('%.3f%% of the train pixels are 255 (ignored in training)',
                    100.0 * hist[IGNORE_INDEX] / hist.sum())
    absent = [name for i, name in enumerate(names) if not hist[i]]
    if absent:
        logger.warning('class(es) %s have no pixel in the train masks; the model cannot learn '
                       'them', absent)
    return Summary(counts, names, mask_format, fraction, meta,
                   train_command(out_dir, len(names)))


def log_summary(summary: Summary, out_dir: Path) -> None:
    """Log counts per split, classes with their share of train pixels, and the next command."""
    for split, n in summary.counts.items():
        if n:
            logger.info('%s: %d frames -> %s/{img_dir,ann_dir}/%s', split, n, out_dir, split)
    logger.info('%d classes (%s masks), share of the train pixels:', len(summary.classes),
                summary.mask_format)
    for idx, (name, frac) in enumerate(summary.class_pixel_fraction.items()):
        logger.info('  %3d %-20s %7.3f%%', idx, name, 100.0 * frac)
    logger.info('wrote %s; train with:\n  %s', out_dir / META_FILE, summary.train_command)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description='Convert a folder of images and a folder of masks (paired by file name '
                    'without suffix) to MMSeg layout OUT_DIR/{img_dir,ann_dir}/{train,test} '
                    f'with index masks and OUT_DIR/{META_FILE}, for FolderSegDataset.')
    parser.add_argument('images_dir', type=Path, help='folder of the images '
                        f'({", ".join(IMAGE_SUFFIXES)})')
    parser.add_argument('masks_dir', type=Path, help='folder of the masks '
                        f'({", ".join(MASK_SUFFIXES)}), same stems as the images')
    conversion.add_output_arguments(parser, replaced=f'img_dir/, ann_dir/ and {META_FILE}')
    parser.add_argument('--mode', choices=MODES, default='binary',
                        help='binary: 0/1 or 0/255 masks (default); index: class indices '
                             '0..C-1, 255 = ignore; colour: one RGB colour per class')
    parser.add_argument('--classes', nargs='+', metavar='NAME',
                        help='class names in index order (binary: 2, default background '
                             'foreground; index: C, default class_0..; colour: one per '
                             'discovered colour)')
    parser.add_argument('--colour-table', type=Path, metavar='FILE.json',
                        help='colour mode: JSON {"class name": [R, G, B], ...}, first = index '
                             '0; without it the colours are discovered and the table logged')
    parser.add_argument('--test-fraction', type=float, default=None,
                        help=f'fraction of the pairs for test (default {DEFAULT_TEST_FRACTION};'
                             ' 0 = no test split)')
    parser.add_argument('--test-list', type=Path, metavar='FILE',
                        help='file with the test stems, one per line (instead of '
                             '--test-fraction)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the --test-fraction split')
    parser.add_argument('--strict-pairs', action='store_true',
                        help='stop on images without mask / masks without image instead of '
                             'leaving them out with a warning')
    parser.add_argument('--mask-suffix', metavar='END',
                        help='end of the mask file names after the image stem, for masks named '
                             'e.g. img_1_mask.png (--mask-suffix _mask.png); default: the mask '
                             'has the image stem and its own suffix')
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code (0 ok, 1 conversion error)."""
    return conversion.run_conversion(parse_args(argv), convert_folder, log_summary, logger)


if __name__ == '__main__':
    sys.exit(main())
