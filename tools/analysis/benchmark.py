# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Speed of the SAM encoder paths, training steps and inference, in one process and one run.

Rows (each timed after ``--warmup`` untimed calls, median of ``--iters``):

* ``encoder``: trunk + neck forward of the reference (segment_anything's ImageEncoderViT, or
  MobileSAM's TinyViT) in fp32, then ours per ``--modes`` (``sdpa-fp32``, ``sdpa-bf16``,
  ``sdpa-fp16``, ``official-fp32``, each optionally ``+compile``), with the cosine and max abs
  difference of the output to the reference;
* ``train step, cached`` / ``uncached``: ``model.train_step`` (preprocess, forward, loss,
  backward, AdamW) of the whole segmentor, fp32 trunk with the seed head ('modules') against
  the first mode with the opt-in head ('subpixel'), and that with the mixed precision of
  ``tools/train.py --amp`` (bf16 autocast on the CPU, fp16 AMP on a GPU); cached = trunk
  output from the feature cache, as in every epoch after the first;
* ``inference``: ``model.test_step`` of the whole segmentor, with the share of pixels whose
  thresholded mask equals the fp32 reference's.

Weights are random (seeded) unless ``--checkpoint`` names an official SAM / MobileSAM file;
images are random unless ``--images`` are given (resized to ``--size``).

    python tools/analysis/benchmark.py --arch vit_b --size 1024 --batch 1
    python tools/analysis/benchmark.py --arch vit_t --size 576 1024 --batch 2 \\
        --checkpoint $MOBILE_SAM_CHECKPOINT --images frame1.jpg frame2.jpg
"""
import argparse
import json
from pathlib import Path
from typing import List, Optional

import torch

from mmseg_sam.analysis.benchmark import MODES, benchmark, render_table


def read_images(paths: List[str], size) -> torch.Tensor:
    """uint8 (B, 3, H, W) RGB->BGR as MMSeg loads them (BGR), resized to ``size``."""
    import cv2
    images = []
    for path in paths:
        image = cv2.imread(path)
        if image is None:
            raise SystemExit(f'{path}: not a readable image')
        image = cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
        images.append(torch.from_numpy(image).permute(2, 0, 1))
    return torch.stack(images)


def main(argv: Optional[List[str]] = None) -> List[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--arch', default='vit_b',
                        help="'vit_b', 'vit_l', 'vit_h', 'vit_t' or a JSON arch dict")
    parser.add_argument('--size', type=int, nargs='+', default=[1024],
                        help='input side, or height and width (multiples of 16)')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--modes', nargs='+',
                        help=f'encoder modes: {sorted(MODES)}[+compile]; default: sdpa-fp32 '
                             'and sdpa-bf16 (CPU), plus sdpa-fp16 (CUDA)')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument('--train-steps', type=int, default=2)
    parser.add_argument('--checkpoint', help='official SAM / MobileSAM weights')
    parser.add_argument('--images', nargs='+', help='images to use instead of random ones')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--json', help='also write the rows to this file')
    args = parser.parse_args(argv)
    if len(args.size) not in (1, 2):
        parser.error('--size takes one side or a height and a width')
    size = (args.size[0], args.size[-1])
    if args.iters < 1 or args.warmup < 0 or args.train_steps < 1 or args.batch < 1:
        parser.error('--iters, --train-steps and --batch must be 1 or more, --warmup 0 or more')
    images = read_images(args.images, size) if args.images else None
    arch = json.loads(args.arch) if args.arch.startswith('{') else args.arch
    rows = benchmark(arch, size, len(images) if images is not None else args.batch,
                     args.modes, args.warmup, args.iters, args.train_steps, args.checkpoint,
                     images, args.device, log=lambda line: print(line, flush=True))
    print(render_table(rows))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(
            [{**row, 'device': str(row['device'])} for row in rows], indent=2))
    return rows


if __name__ == '__main__':
    main()
