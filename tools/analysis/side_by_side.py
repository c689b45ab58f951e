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

from mmseg_sam.analysis.side_by_side import compose, read


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
