# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Train a segmentor with MMEngine's stock Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                          [--cfg-options key=value ...] [--launcher pytorch|slurm|mpi]

Our modules are registered by the config's ``custom_imports``; the tool itself only turns
command-line options into config values. It imports ``mmseg_sam.safe_checkpoint_loading`` so
that resuming a pure-MMSeg config also loads checkpoints with ``weights_only`` kept on.
"""
import argparse
from typing import List, Optional

import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmseg_sam.safe_checkpoint_loading  # noqa: F401  (registration; safe loaders)
from mmseg_sam.engine.optimizers import mixed_precision_optim_wrapper
from mmseg_sam.utils import runner_cli


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', const='auto', default=None, metavar='CKPT',
                        help='resume from CKPT, or from the latest checkpoint in the work '
                        'dir when no path is given')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision: float16 with loss scaling on a GPU '
                        "(MMEngine's AmpOptimWrapper), bfloat16 autocast without one "
                        '(BF16AutocastOptimWrapper; fast on CPUs with bf16 instructions)')
    runner_cli.add_common_runner_arguments(
        parser, cfg_options_help='override config values, e.g. train_cfg.max_iters=100')
    return runner_cli.parse_runner_args(parser, argv)


def build_config(args: argparse.Namespace) -> Config:
    """Apply the command-line options to the config."""
    cfg = runner_cli.load_config(args)
    if args.amp:
        cfg.optim_wrapper = mixed_precision_optim_wrapper(cfg.optim_wrapper,
                                                          on_gpu=torch.cuda.is_available())
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    return cfg


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    cfg = build_config(args)
    runner_cli.prepare_cpu_distributed(cfg)
    # A missing, damaged or unsafe checkpoint fails now, naming the option, not after the
    # datasets and the model are built.
    runner_cli.check_runner_checkpoint(cfg, what='--resume' if args.resume not in (None, 'auto')
                            else 'load_from')
    if 'runner_type' in cfg:
        from mmseg.registry import RUNNERS
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    runner.train()
    runner_cli.finish_distributed()


if __name__ == '__main__':
    main()
