# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Pixel agreement of two folders of predicted masks (the logic of
tools/analysis/mask_agreement.py)."""
from pathlib import Path
from typing import Dict, List

import cv2
import numpy as np

__all__ = ['mask_agreement', 'render_report']

MASK_SUFFIXES = ('.png', '.bmp', '.tif', '.tiff')


def _masks(folder: Path) -> Dict[str, Path]:
    if not folder.is_dir():
        raise SystemExit(f'mask_agreement.py: {folder} is not a folder (expected the --out '
                         f'folder of tools/test.py or tools/inference.py)')
    masks = {path.name: path for path in sorted(folder.iterdir())
             if path.suffix.lower() in MASK_SUFFIXES}
    if not masks:
        raise SystemExit(f'mask_agreement.py: {folder} holds no mask files '
                         f'({", ".join(MASK_SUFFIXES)})')
    return masks


def _read(path: Path) -> np.ndarray:
    mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise SystemExit(f'mask_agreement.py: cannot read {path} as an image')
    return mask


def mask_agreement(reference: Path, other: Path) -> List[dict]:
    """Per mask file of ``reference``: the share of pixels whose value ``other`` repeats.

    Both folders must hold the same file names, and each pair the same size (predictions of
    two models or precisions on one test set); a mismatch is an error naming the files.

    Returns:
        One row per file (``name``, ``pixels``, ``equal``, ``agreement``), then a row
        ``name='all'`` over every pixel.
    """
    first, second = _masks(Path(reference)), _masks(Path(other))
    if set(first) != set(second):
        only_first = sorted(set(first) - set(second))[:5]
        only_second = sorted(set(second) - set(first))[:5]
        raise SystemExit(f'mask_agreement.py: the folders hold different files: only in '
                         f'{reference}: {only_first}; only in {other}: {only_second}. Compare '
                         f'predictions of the same images.')
    rows = []
    for name, path in first.items():
        a, b = _read(path), _read(second[name])
        if a.shape != b.shape:
            raise SystemExit(f'mask_agreement.py: {name} is {a.shape} in {reference} but '
                             f'{b.shape} in {other}')
        equal = a == b
        if equal.ndim == 3:  # a colour mask: a pixel agrees when every channel does
            equal = equal.all(axis=2)
        rows.append(dict(name=name, pixels=int(equal.size), equal=int(equal.sum()),
                         agreement=float(equal.mean())))
    pixels, equal = sum(r['pixels'] for r in rows), sum(r['equal'] for r in rows)
    rows.append(dict(name='all', pixels=pixels, equal=equal, agreement=equal / pixels))
    return rows


def render_report(rows: List[dict]) -> str:
    """Markdown table: per image and over all, pixels that differ and the agreement in %."""
    lines = ['| mask | pixels | differing | equal % |', '|---|---|---|---|']
    for row in rows:
        lines.append(f"| {row['name']} | {row['pixels']} | {row['pixels'] - row['equal']} | "
                     f"{100 * row['agreement']:.3f} |")
    return '\n'.join(lines)
