# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""STARE (retinal vessels) from deepdraw's ``test-database.zip`` into MMSeg's STARE layout.

The zip is the demo's pinned source (see :data:`mmseg_sam.utils.assets.STARE_SDIST`); this
module only converts it, with the helpers every converter shares
(:mod:`mmseg_sam.datasets.conversion`: decoding, 0/255 -> 0/1, PNG encoding, staged publish).
The result under ``<out_dir>/stare``::

    img_dir/{train,val}/imNNNN.png      RGB fundus images (700x605)
    ann_dir/{train,val}/imNNNN.ah.png   expert "ah" vessel masks, 0 = background, 1 = vessel
    manifest.json                       source, split and SHA-256 of every file, written last

which :class:`mmseg.datasets.STAREDataset` reads with its default suffixes.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import cv2

from ..utils.package_index import SdistFile
from ..utils.verified_files import sha256_of, staging_file
from .conversion import (
    ConversionError,
    check_same_size,
    decode_image,
    encode_png,
    publish,
    staging_dir,
    to_binary,
)

__all__ = ['STARE_DIRNAME', 'convert_stare_zip', 'publish_stare', 'stare_manifest_problem',
           'stare_split']

# Folders and suffixes inside test-database.zip (as found in deepdraw 1.5.0). Images are binary
# PPM (P6, RGB); the "ah" masks are binary PGM (P5) with values 0 and 255, despite their .ppm
# suffix. The "vk" masks (second observer) are not used: MMSeg's STARE set uses "ah".
ZIP_IMAGE_DIR = 'stare-images/'
ZIP_IMAGE_SUFFIX = '.ppm'
ZIP_MASK_DIR = 'labels-ah/'
ZIP_MASK_SUFFIX = '.ah.ppm'

# The layout and suffixes that mmseg.datasets.STAREDataset expects.
STARE_DIRNAME = 'stare'
IMG_SUFFIX = '.png'
SEG_SUFFIX = '.ah.png'
MANIFEST = 'manifest.json'
# Bumped whenever the conversion output changes, so that caches converted by older code are
# redone. (Moving onto the shared converter helpers wrote the same bytes, so it stayed 1.)
MANIFEST_FORMAT = 1


def stare_manifest_problem(root: Path, source: SdistFile) -> Optional[str]:
    """Return why ``root`` is not a complete STARE conversion of ``source``, or None if it is.

    Complete means: the manifest (written last) exists, was written by this conversion format
    from ``source`` (same SHA-256), and every file it lists exists with its recorded SHA-256.
    Hashing the ~40 files takes well under a second and also catches files edited by hand.
    """
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        return f'{manifest_path} is missing'
    try:
        manifest = json.loads(manifest_path.read_text(encoding='utf-8'))
        if manifest['format'] != MANIFEST_FORMAT:
            return f'{manifest_path} has format {manifest["format"]}, expected {MANIFEST_FORMAT}'
        if manifest['source']['sha256'] != source.sha256:
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


def stare_split(stems: Sequence[str]) -> Dict[str, List[str]]:
    """Split the image names deterministically: sorted by name, first half train, rest val.

    For the 20 STARE images this is 10/10; the train half is im0001-im0005, im0044, im0077,
    im0081, im0082 and im0139. STARE has no official split, so this simple rule is ours. It is
    a fixed rule, not a seeded draw (:mod:`mmseg_sam.datasets.seeded_split`): the demo's
    published numbers are measured on exactly these halves.
    """
    ordered = sorted(stems)
    n_train = len(ordered) // 2
    return {'train': ordered[:n_train], 'val': ordered[n_train:]}


def _write_png(array: Any, out_root: Path, rel: str) -> str:
    """Write ``array`` as PNG to ``out_root / rel``; return the SHA-256 of the written bytes."""
    data = encode_png(array, rel)
    (out_root / rel).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _zip_stems(zip_name: str, names: set) -> List[str]:
    """The image names of the zip, each checked to have its "ah" mask."""
    stems = sorted(name[len(ZIP_IMAGE_DIR):-len(ZIP_IMAGE_SUFFIX)] for name in names
                   if name.startswith(ZIP_IMAGE_DIR) and name.endswith(ZIP_IMAGE_SUFFIX)
                   and '/' not in name[len(ZIP_IMAGE_DIR):])
    if len(stems) < 2:
        raise ConversionError(f'{zip_name}: expected at least 2 images '
                              f'{ZIP_IMAGE_DIR}*{ZIP_IMAGE_SUFFIX}, found {len(stems)}')
    missing = [s for s in stems if f'{ZIP_MASK_DIR}{s}{ZIP_MASK_SUFFIX}' not in names]
    if missing:
        raise ConversionError(f'{zip_name}: expected an "ah" mask {ZIP_MASK_DIR}<name>'
                              f'{ZIP_MASK_SUFFIX} for every image; missing for {missing}')
    return stems


def convert_stare_zip(zip_path: Path, out_root: Path, source: SdistFile, *,
                      log: Callable[[str], None]) -> Dict[str, Any]:
    """Convert deepdraw's test-database.zip into MMSeg's STARE layout under ``out_root``.

    Writes ``img_dir/{train,val}/<name>.png`` (RGB) and ``ann_dir/{train,val}/<name>.ah.png``
    (single channel, 0 = background, 1 = vessel), then ``manifest.json`` last.

    Args:
        zip_path: The verified zip.
        out_root: An empty folder to fill (a staging folder; see :func:`publish_stare`).
        source: The pin the zip was verified against, recorded in the manifest.
        log: Receives the summary line.

    Returns:
        The manifest that was written.

    Raises:
        ConversionError: The zip lacks images or masks, or a mask is not binary (0/255) or not
            the size of its image.
    """
    with zipfile.ZipFile(zip_path) as zf:
        stems = _zip_stems(zip_path.name, set(zf.namelist()))
        split = stare_split(stems)
        files: Dict[str, str] = {}
        vessel_pixels = total_pixels = 0
        sizes = set()
        for split_name, split_stems in split.items():
            for folder in ('img_dir', 'ann_dir'):
                (out_root / folder / split_name).mkdir(parents=True, exist_ok=True)
            for stem in split_stems:
                img_member = f'{ZIP_IMAGE_DIR}{stem}{ZIP_IMAGE_SUFFIX}'
                mask_member = f'{ZIP_MASK_DIR}{stem}{ZIP_MASK_SUFFIX}'
                where = f'{zip_path.name}:'
                # OpenCV's PxM reader handles both header styles found in the zip; colour comes
                # back as BGR, which imencode expects, so the PNG keeps the RGB colours.
                image = decode_image(zf.read(img_member), cv2.IMREAD_COLOR, where + img_member)
                mask = decode_image(zf.read(mask_member), cv2.IMREAD_UNCHANGED,
                                    where + mask_member)
                label, _ = to_binary(mask, where + mask_member)
                check_same_size(image, label, where + img_member, where + mask_member)
                sizes.add(f'{image.shape[1]}x{image.shape[0]}')
                vessel_pixels += int(label.sum())
                total_pixels += label.size
                img_rel = f'img_dir/{split_name}/{stem}{IMG_SUFFIX}'
                ann_rel = f'ann_dir/{split_name}/{stem}{SEG_SUFFIX}'
                files[img_rel] = _write_png(image, out_root, img_rel)
                files[ann_rel] = _write_png(label, out_root, ann_rel)

    manifest = {
        'format': MANIFEST_FORMAT,
        'source': {'requirement': source.requirement, 'member': source.member,
                   'sha256': source.sha256},
        'labels': {'0': 'background', '1': 'vessel'},
        'split_rule': 'image names sorted; first half train, second half val',
        'split': split,
        'vessel_fraction': vessel_pixels / total_pixels,
        'files': files,
    }
    # Written last (and atomically): its presence is what marks the conversion complete.
    manifest_path = out_root / MANIFEST
    with staging_file(manifest_path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + '\n', encoding='utf-8')
        os.replace(tmp, manifest_path)
    log(f'converted {len(stems)} images ({len(split["train"])} train / {len(split["val"])} val, '
        f'{"/".join(sorted(sizes))} px, vessel fraction {manifest["vessel_fraction"]:.4f})')
    return manifest


def publish_stare(fetch_zip: Callable[[Path], None], out_dir: Path, source: SdistFile, *,
                  log: Callable[[str], None]) -> Path:
    """Fetch the zip, convert it in a staging folder of ``out_dir`` and move it into place.

    Args:
        fetch_zip: Writes the verified zip to the path it is given.
        out_dir: Where ``stare/`` goes (the asset cache); an old ``stare/`` is replaced only
            once the new conversion is complete.
        source: The zip's pin, recorded in the manifest.
        log: Receives progress lines.

    Returns:
        ``out_dir / 'stare'``.
    """
    root = out_dir / STARE_DIRNAME
    with staging_dir(out_dir, '.stare-') as staging:
        zip_path = staging / Path(source.member).name
        fetch_zip(zip_path)
        convert_stare_zip(zip_path, staging / STARE_DIRNAME, source, log=log)
        try:
            publish(staging, out_dir, [STARE_DIRNAME])
        except OSError:
            # Another process may have put a complete conversion there meanwhile; use it.
            if stare_manifest_problem(root, source) is None:
                log(f'{root} was completed by another process; using it')
                return root
            raise
    return root
