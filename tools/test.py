# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Evaluate a checkpoint on the config's test split with MMEngine's stock Runner.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--show-dir DIR] [--out DIR]
                         [--tta] [--cfg-options key=value ...] [--launcher ...]

``--show-dir`` writes image + prediction overlays; ``--out`` writes the predicted masks.
"""
import argparse
from typing import List, Optional

from mmengine.config import Config
from mmengine.runner import Runner

import mmseg_sam.safe_checkpoint_loading  # noqa: F401  (registration; safe loaders)
from mmseg_sam.utils import runner_cli


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where metrics and logs go')
    parser.add_argument('--out', help='directory for the predicted masks (PNG)')
    parser.add_argument('--show-dir', help='directory for image + prediction overlays')
    parser.add_argument('--show', action='store_true', help='show overlays in a window')
    parser.add_argument('--wait-time', type=float, default=2, help='seconds per shown image')
    parser.add_argument('--tta', action='store_true', help='test-time augmentation')
    runner_cli.add_common_runner_arguments(parser)
    return runner_cli.parse_runner_args(parser, argv)


def build_config(args: argparse.Namespace) -> Config:
    """Apply the command-line options to the config."""
    # The checkpoint may be a URL, which MMEngine downloads.
    cfg = runner_cli.load_config(args, extra_files=[('checkpoint', args.checkpoint)],
                                 allow_urls=True)
    # Empty, truncated, text or unsafe files fail here, before the runner builds anything;
    # a checkpoint of another model fails when it is loaded (strict for our modules).
    cfg.load_from = args.checkpoint
    runner_cli.check_runner_checkpoint(cfg, what='CHECKPOINT')
    if args.show or args.show_dir:
        hook = cfg.default_hooks.get('visualization')
        if hook is None:
            raise ValueError('--show/--show-dir need default_hooks.visualization '
                             '(SegVisualizationHook) in the config')
        hook.update(draw=True, interval=1, show=args.show, wait_time=args.wait_time)
        if args.show_dir:
            cfg.visualizer.save_dir = args.show_dir
            cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    if args.out:
        cfg.test_evaluator = (list(cfg.test_evaluator)
                              if isinstance(cfg.test_evaluator, (list, tuple))
                              else [cfg.test_evaluator])
        for evaluator in cfg.test_evaluator:
            if evaluator.get('type') == 'IoUMetric':
                evaluator.update(output_dir=args.out, keep_results=True)
    if args.tta:
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    return cfg


def main(argv: Optional[List[str]] = None) -> dict:
    cfg = build_config(parse_args(argv))
    runner_cli.prepare_cpu_distributed(cfg)
    metrics = Runner.from_cfg(cfg).test()
    runner_cli.finish_distributed()
    return metrics


if __name__ == '__main__':
    main()
