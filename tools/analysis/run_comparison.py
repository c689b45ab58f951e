# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Train and test several configs on few-label subsets, then compare them: one command.

    python tools/analysis/run_comparison.py CONFIG [CONFIG ...] --frames 10 90
        [--work-dir work_dirs/comparison] [--from-scratch CONFIG ...] [--seeds 0 1 2]
        [--plot PNG] [--metric per_image_fg_iou] [--cfg-options KEY=VALUE ...]
        [--dry-run] [--force]

For every config, number of labelled frames N (and seed), it runs the final protocol of our
few-label experiments, as two stock-tool processes:

1. ``tools/train.py CONFIG --work-dir WORK_DIR/<config>_f<N>`` on a seeded subset of N of the
   training frames (``train_dataloader.dataset.size=N``), with no frames held out and no
   validation, so that nothing is tuned or selected on any split;
2. ``tools/test.py CONFIG <last checkpoint> --work-dir <that work dir>/test``: the test split.

Then it prints ``tools/analysis/compare_runs.py``'s table of all runs and writes its
data-efficiency plot. The training set of each config must be a ``SeededSubsetDataset`` (all
football configs in ``configs/`` are).

``--from-scratch`` lists configs (of the positional ones) to train without pretrained weights
(``model.pretrained=None model.backbone.init_cfg=None``); their work dirs end in
``-scratch``; a frozen-SAM config there is refused (its frozen encoder would stay random).
A run whose work dir already has a test session is skipped, and a training that was
interrupted after a checkpoint resumes from it (``tools/train.py --resume``), so a stopped
comparison continues where it stopped; ``--force`` runs everything again from the start.
"""
import argparse
from pathlib import Path
from typing import List, Optional

from mmseg_sam.analysis.run_comparison import PlannedRun, run_comparison


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train + test configs on N labelled frames each, then compare them')
    parser.add_argument('configs', nargs='+', type=Path, help='configs to compare')
    parser.add_argument('--frames', nargs='+', type=int, required=True,
                        help='numbers of labelled training frames, e.g. 10 90')
    parser.add_argument('--seeds', nargs='+', type=int,
                        help="subset seeds (default: each config's own seed)")
    parser.add_argument('--from-scratch', nargs='+', type=Path, default=[],
                        help='configs to train without pretrained weights')
    parser.add_argument('--work-dir', type=Path, default=Path('work_dirs/comparison'),
                        help='folder of the runs (default: work_dirs/comparison)')
    parser.add_argument('--plot', type=Path,
                        help='data-efficiency PNG (default: WORK_DIR/data_efficiency.png)')
    parser.add_argument('--metric', default='per_image_fg_iou',
                        choices=['per_image_fg_iou', 'fg_iou', 'mIoU'],
                        help='metric of the plot (see compare_runs.py)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='more KEY=VALUE config options for every training and test')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the commands without running them')
    parser.add_argument('--force', action='store_true',
                        help='run again even where a test result exists')
    args = parser.parse_args(argv)
    if any(count < 1 for count in args.frames):
        parser.error(f'--frames: counts must be positive, got {args.frames}')
    return args


def main(argv: Optional[List[str]] = None) -> List[PlannedRun]:
    args = parse_args(argv)
    return run_comparison(args.configs, args.frames, args.seeds or [None], args.from_scratch,
                          args.work_dir, args.plot, args.metric, args.cfg_options,
                          args.dry_run, args.force)


if __name__ == '__main__':
    main()
