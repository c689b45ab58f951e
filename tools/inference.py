# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Run a trained checkpoint on a folder of images and write masks and overlays.

    python tools/inference.py CONFIG CHECKPOINT IMAGE_DIR --out-dir OUT [--device cpu]
                              [--opacity 0.5]

For each image ``NAME.ext`` it writes ``OUT/masks/NAME.png`` (label values) and
``OUT/overlays/NAME.png`` (image with the prediction drawn over it), using MMSeg's
``init_model`` / ``inference_model`` and ``SegLocalVisualizer``.
"""
import argparse
import os.path as osp
from pathlib import Path
from typing import List, Optional

import cv2
import mmcv
from mmseg.apis import inference_model, init_model
from mmseg.visualization import SegLocalVisualizer
from tqdm import tqdm

import mmseg_sam  # noqa: F401  (checkpoint allow-list; registration)

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.ppm')


def list_images(image_dir: Path) -> List[Path]:
    if not image_dir.is_dir():
        raise NotADirectoryError(f'image folder not found: {image_dir}')
    images = sorted(p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise FileNotFoundError(f'no images ({", ".join(IMAGE_SUFFIXES)}) in {image_dir}')
    return images


def main(argv: Optional[List[str]] = None) -> Path:
    parser = argparse.ArgumentParser(description='Predict masks and overlays for a folder')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('image_dir', type=Path)
    parser.add_argument('--out-dir', type=Path, required=True)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--opacity', type=float, default=0.5)
    args = parser.parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint file not found: {args.checkpoint}')

    images = list_images(args.image_dir)
    model = init_model(args.config, args.checkpoint, device=args.device)
    visualizer = SegLocalVisualizer(alpha=args.opacity)
    visualizer.dataset_meta = model.dataset_meta
    (args.out_dir / 'masks').mkdir(parents=True, exist_ok=True)
    (args.out_dir / 'overlays').mkdir(parents=True, exist_ok=True)
    for path in tqdm(images, desc='inference', unit='img'):
        result = inference_model(model, str(path))
        mask = result.pred_sem_seg.data[0].cpu().numpy().astype('uint8')
        cv2.imwrite(str(args.out_dir / 'masks' / f'{path.stem}.png'), mask)
        image = mmcv.imread(str(path), channel_order='rgb')
        visualizer.add_datasample(path.stem, image, data_sample=result, draw_gt=False,
                                  show=False, out_file=str(args.out_dir / 'overlays' /
                                                           f'{path.stem}.png'))
    print(f'wrote {len(images)} masks and overlays to {args.out_dir}')
    return args.out_dir


if __name__ == '__main__':
    main()
