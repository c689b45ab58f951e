# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Export a trained segmentor to ONNX, check it with onnxruntime on real images, time both.

    python tools/deployment/export_onnx.py CONFIG CHECKPOINT [--out FILE.onnx]
        [--images IMG ...] [--num-images 4] [--fixed-size] [--atol 1e-3] [--runs 5]
        [--threads N] [--cfg-options KEY=VALUE ...]

The ONNX model takes ``image``: (B, 3, H, W) float RGB pixel values in 0..255, H and W
multiples of 16 (the config's normalisation is inside), and returns ``logits`` (B, C, H, W)
and ``mask`` (B, H, W) int64. The batch size is dynamic; H and W are dynamic for MobileSAM
(TinyViT) and fixed for SAM ViT (see ``mmseg_sam.deployment.onnx_export``). The check runs
the first ``--num-images`` test images of the config (or ``--images``) through PyTorch and
onnxruntime, prints the largest logit difference against ``--atol``, the mask agreement, and
the median CPU latency of both; it exits 1 when the difference is above the tolerance.
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

from mmengine.config import DictAction

import mmseg_sam.safe_checkpoint_loading  # noqa: F401  (registration; safe loaders)
from mmseg_sam.deployment import DEFAULT_ATOL, ExportResult, export_and_check


def main(argv: Optional[List[str]] = None) -> ExportResult:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', help='ONNX file (default: CHECKPOINT with suffix .onnx)')
    parser.add_argument('--images', nargs='+', default=(), help='images to check on')
    parser.add_argument('--num-images', type=int, default=4,
                        help='test-set images to check on when --images is not given')
    parser.add_argument('--fixed-size', action='store_true',
                        help='export at the first image size even where it could be dynamic')
    parser.add_argument('--atol', type=float, default=DEFAULT_ATOL,
                        help='tolerance on max |logits onnxruntime - PyTorch|')
    parser.add_argument('--runs', type=int, default=5, help='timed calls per runtime')
    parser.add_argument('--threads', type=int, help='CPU threads of both runtimes')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    out = args.out or str(Path(args.checkpoint).with_suffix('.onnx'))
    result = export_and_check(args.config, args.checkpoint, out, images=args.images,
                              num_images=args.num_images,
                              dynamic_size=False if args.fixed_size else None,
                              atol=args.atol, runs=args.runs, threads=args.threads,
                              cfg_options=args.cfg_options)
    if not result.parity.passed:
        sys.exit(1)
    return result


if __name__ == '__main__':
    main()
