# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Captioned images stacked into one picture (the logic of tools/analysis/side_by_side.py)."""
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
