# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""The embedded demo behind `make demo`: real weights, real data, stock runner, overlays.

1. fetches MobileSAM's pretrained weights and the STARE retinal-vessel set (20 images with
   expert masks), verifies their checksums and caches them (``$MMSEG_SAM_CACHE`` or
   ``~/.cache/mmseg-sam``);
2. trains frozen MobileSAM + trainable neck + the detail-preserving ConvTransposeLNHead
   (frozen stride-4/8 TinyViT stage outputs fused into the upsampling blocks) on 10 images
   with MMEngine's Runner (the frozen encoder runs once per image; later steps read the
   cache);
3. evaluates on the other 10 images and writes image + prediction overlays;
4. prints the metrics and where the overlays are.

    python tools/demo.py [--work-dir work_dirs/demo] [--iters 300] [--cache-dir DIR]
                         [--config CONFIG]

``--config`` trains another STARE config the same way, e.g. the seed head of
``configs/sam_frozen/convtrans-ln_sam-vit-t-frozen_1xb2-300_stare-608x704.py``.
"""
import argparse
import os
import time
from pathlib import Path
from typing import List, Optional

from mmengine.runner import Runner

import mmseg_sam.safe_checkpoint_loading  # noqa: F401  (registration; safe loaders)
from mmseg_sam.utils.assets import fetch_mobile_sam_weights, fetch_stare
from mmseg_sam.utils.config_loading import load_config_file

REPO = Path(__file__).resolve().parents[1]
DEMO_CONFIG = (REPO / 'configs/sam_detail'
               / 'convtrans-ln-detail_sam-vit-t-frozen_1xb2-300_stare-608x704.py')


def main(argv: Optional[List[str]] = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', type=Path, default=REPO / 'work_dirs' / 'demo')
    parser.add_argument('--iters', type=int, default=300, help='training iterations')
    parser.add_argument('--cache-dir', type=Path, default=None,
                        help='where weights and data are cached')
    parser.add_argument('--config', type=Path, default=DEMO_CONFIG,
                        help='a STARE training config (default: the detail-preserving head)')
    args = parser.parse_args(argv)
    if args.iters < 1:
        parser.error(f'--iters must be >= 1, got {args.iters}')
    if not args.config.is_file():
        parser.error(f'--config {args.config}: no such file (expected an MMSeg config that '
                     f'reads STARE_DATA_ROOT, such as {DEMO_CONFIG.relative_to(REPO)})')
    start = time.time()

    print('[1/4] fetching MobileSAM weights and the STARE dataset (cached after the first run)')
    os.environ['MOBILE_SAM_CHECKPOINT'] = str(fetch_mobile_sam_weights(args.cache_dir))
    os.environ['STARE_DATA_ROOT'] = str(fetch_stare(args.cache_dir))

    cfg = load_config_file(args.config)
    cfg.work_dir = str(args.work_dir)
    cfg.train_cfg.max_iters = args.iters
    cfg.train_cfg.val_interval = min(cfg.train_cfg.val_interval, args.iters)
    cfg.default_hooks.checkpoint.interval = min(cfg.default_hooks.checkpoint.interval,
                                                args.iters)
    print(f'[2/4] training {args.iters} iterations on 10 images ({args.config.name}), '
          f'logs in {args.work_dir}')
    runner = Runner.from_cfg(cfg)
    runner.train()

    overlay_dir = args.work_dir / 'overlays'
    print(f'[3/4] evaluating on the 10 validation images, overlays -> {overlay_dir}')
    visualization_hook = next(hook for hook in runner.hooks
                              if type(hook).__name__ == 'SegVisualizationHook')
    visualization_hook.draw, visualization_hook.interval = True, 1
    metrics = runner.test()
    _copy_test_overlays(args.work_dir, overlay_dir, args.config)

    print(f'[4/4] done in {(time.time() - start) / 60:.1f} min')
    print(f'  vessel IoU per image (mean): {metrics["per_image_fg_iou"]:.2f}%')
    print(f'  mIoU (background, vessel):   {metrics["mIoU"]:.2f}%')
    print(f'  overlays: {overlay_dir}')
    return metrics


def _copy_test_overlays(work_dir: Path, overlay_dir: Path, config: Path) -> None:
    """Collect the overlays the test loop drew (MMEngine nests them under a timestamp)."""
    import shutil
    overlay_dir.mkdir(parents=True, exist_ok=True)
    drawn = sorted(work_dir.glob('*/vis_data/vis_image/test_*.png'))
    for path in drawn:
        shutil.copy2(path, overlay_dir / path.name)
    if not drawn:
        raise RuntimeError(f'no overlays were drawn under {work_dir}; check '
                           f'default_hooks.visualization in {config}')


if __name__ == '__main__':
    main()
