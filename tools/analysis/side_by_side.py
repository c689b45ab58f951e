# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Stack images (e.g. the overlays of two models on the same frame) into one captioned PNG.

    python tools/analysis/side_by_side.py IMAGE [IMAGE ...] --captions TEXT [TEXT ...]
        --out PNG [--vertical] [--width PIXELS]

Typical use: ``tools/test.py CONFIG CHECKPOINT --show-dir DIR`` writes, per test image, the
ground truth and the prediction side by side; this tool stacks those of two or more models
(``--vertical``), each under its caption, so the same frame can be compared at a glance.
Every image is scaled to the same width (``--width``, default: the narrowest input's) before
stacking; side by side (the default) they are scaled to the same height instead.
"""
import argparse
from pathlib import Path
from typing import List, Optional

import cv2
import numpy as np

CAPTION_HEIGHT = 36


def read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f'side_by_side.py: cannot read {path} as an image (missing, empty or '
                         f'not an image file)')
    return image


def captioned(image: np.ndarray, caption: str) -> np.ndarray:
    """``image`` (H, W, 3) under a white strip with ``caption``: (H + 36, W, 3)."""
    strip = np.full((CAPTION_HEIGHT, image.shape[1], 3), 255, np.uint8)
    cv2.putText(strip, caption, (8, CAPTION_HEIGHT - 11), cv2.FONT_HERSHEY_SIMPLEX, 0.8,
                (0, 0, 0), 2, cv2.LINE_AA)
    return np.concatenate([strip, image], axis=0)


def scaled(image: np.ndarray, width: Optional[int] = None,
           height: Optional[int] = None) -> np.ndarray:
    h, w = image.shape[:2]
    size = (width, round(h * width / w)) if width else (round(w * height / h), height)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def compose(images: List[np.ndarray], captions: List[str], vertical: bool,
            width: Optional[int] = None) -> np.ndarray:
    """The captioned images stacked top to bottom (``vertical``) or left to right."""
    if vertical:
        target = width or min(image.shape[1] for image in images)
        panels = [captioned(scaled(image, width=target), c) for image, c in zip(images, captions)]
        return np.concatenate(panels, axis=0)
    target = min(image.shape[0] for image in images)
    panels = [captioned(scaled(image, height=target), c) for image, c in zip(images, captions)]
    result = np.concatenate(panels, axis=1)
    return scaled(result, width=width) if width else result


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Stack images into one captioned PNG')
    parser.add_argument('images', nargs='+', type=Path, help='image files, in order')
    parser.add_argument('--captions', nargs='+', required=True, help='one caption per image')
    parser.add_argument('--out', type=Path, required=True, help='PNG to write')
    parser.add_argument('--vertical', action='store_true', help='top to bottom')
    parser.add_argument('--width', type=int, help='width of each image (vertical) or of the '
                        'result (side by side), in pixels')
    args = parser.parse_args(argv)
    if len(args.captions) != len(args.images):
        parser.error(f'--captions: got {len(args.captions)} for {len(args.images)} images; '
                     f'give one caption per image')
    if args.width is not None and args.width < 16:
        parser.error(f'--width must be at least 16 pixels, got {args.width}')
    return args


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    result = compose([read(path) for path in args.images], args.captions, args.vertical,
                     args.width)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(args.out), result, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise SystemExit(f'side_by_side.py: could not write {args.out}')
    print(f'wrote {args.out} ({result.shape[1]} x {result.shape[0]})')


if __name__ == '__main__':
    main()
