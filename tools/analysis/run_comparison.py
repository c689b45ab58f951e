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
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

REPO_ROOT = Path(__file__).resolve().parents[2]
TRAIN_TOOL = REPO_ROOT / 'tools' / 'train.py'
TEST_TOOL = REPO_ROOT / 'tools' / 'test.py'
COMPARE_TOOL = REPO_ROOT / 'tools' / 'analysis' / 'compare_runs.py'

#: The final-protocol options: all N frames train, nothing is held out or validated, and the
#: last checkpoint is the one tested (no "best" checkpoint chosen on any split).
FINAL_PROTOCOL = ('train_dataloader.dataset.held_out=0', 'val_cfg=None', 'val_dataloader=None',
                  'val_evaluator=None', 'default_hooks.checkpoint.save_best=None')
FROM_SCRATCH = ('model.pretrained=None', 'model.backbone.init_cfg=None')


@dataclass
class PlannedRun:
    """One training + test of a config on N labelled frames."""

    config: Path
    frames: int
    seed: Optional[int]
    from_scratch: bool
    work_dir: Path

    def train_command(self, extra_options: Sequence[str], resume: bool = False) -> List[str]:
        """tools/train.py on N frames; ``resume`` continues from the work dir's last checkpoint."""
        options = [f'train_dataloader.dataset.size={self.frames}', *FINAL_PROTOCOL]
        if self.seed is not None:
            options.append(f'train_dataloader.dataset.seed={self.seed}')
        if self.from_scratch:
            options += FROM_SCRATCH
        return [sys.executable, str(TRAIN_TOOL), str(self.config), '--work-dir',
                str(self.work_dir), *(['--resume'] if resume else []),
                '--cfg-options', *options, *extra_options]

    def test_command(self, checkpoint: Path, extra_options: Sequence[str]) -> List[str]:
        command = [sys.executable, str(TEST_TOOL), str(self.config), str(checkpoint),
                   '--work-dir', str(self.work_dir / 'test')]
        if extra_options:
            command += ['--cfg-options', *extra_options]
        return command


def check_config(config: Path, from_scratch: bool = False) -> None:
    """The config exists, picks its training frames with a SeededSubsetDataset and, when it
    is to train from scratch, has no frozen encoder (which would stay random)."""
    if not config.is_file():
        raise SystemExit(f'error: config {config}: no such file')
    from mmengine.config import Config
    cfg = Config.fromfile(str(config))
    if from_scratch and cfg.model.get('backbone', {}).get('type') == 'SAMFrozenBackbone':
        raise SystemExit(f'error: --from-scratch {config}: its SAMFrozenBackbone is frozen, '
                         f'so without pretrained weights it would stay random')
    dataset = cfg.get('train_dataloader', {}).get('dataset', {})
    if dataset.get('type') != 'SeededSubsetDataset':
        raise SystemExit(
            f'error: config {config}: train_dataloader.dataset is '
            f"{dataset.get('type')!r}; a SeededSubsetDataset is needed to train on N frames")


def plan_runs(configs: Sequence[Path], frames: Sequence[int], seeds: Sequence[Optional[int]],
              from_scratch: Sequence[Path], root: Path) -> List[PlannedRun]:
    """Every (config, N, seed), in the order given: configs outer, frames, then seeds."""
    scratch = {path.resolve() for path in from_scratch}
    unknown = scratch - {path.resolve() for path in configs}
    if unknown:
        raise SystemExit('error: --from-scratch names configs that are not compared: '
                         + ', '.join(sorted(map(str, unknown))))
    runs = []
    for config in configs:
        is_scratch = config.resolve() in scratch
        for count in frames:
            for seed in seeds:
                name = f'{config.stem}{"-scratch" if is_scratch else ""}_f{count}'
                if seed is not None:
                    name += f'_s{seed}'
                runs.append(PlannedRun(config, count, seed, is_scratch, root / name))
    return runs


def last_checkpoint(work_dir: Path) -> Path:
    """The checkpoint MMEngine's ``last_checkpoint`` file names (written after training)."""
    pointer = work_dir / 'last_checkpoint'
    if not pointer.is_file():
        raise SystemExit(f'error: {work_dir}: training wrote no last_checkpoint file')
    return Path(pointer.read_text().strip())


def is_tested(work_dir: Path) -> bool:
    """True when ``work_dir/test`` holds a finished tools/test.py session (its JSON dump)."""
    return any((work_dir / 'test').glob('2*/2*.json'))


def run(command: Sequence[str], dry_run: bool) -> None:
    shown = ['python' if part == sys.executable else part.replace(f'{REPO_ROOT}/', '')
             for part in command]
    print('$ ' + shlex.join(shown), flush=True)
    if not dry_run:
        returncode = subprocess.run(command, cwd=REPO_ROOT).returncode
        if returncode != 0:
            raise SystemExit(f'error: this command exited with status {returncode}:\n  '
                             f'{shlex.join(shown)}\nruns tested before it are kept and '
                             f'skipped when the comparison is started again')


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
    scratch = {path.resolve() for path in args.from_scratch}
    for config in args.configs:
        check_config(config, from_scratch=config.resolve() in scratch)
    runs = plan_runs(args.configs, args.frames, args.seeds or [None], args.from_scratch,
                     args.work_dir)
    for planned in runs:
        if is_tested(planned.work_dir) and not args.force:
            print(f'# {planned.work_dir}: tested already, skipped (--force runs it again)')
            continue
        # A checkpoint left by an interrupted training: go on from it (a finished training
        # resumes at its last iteration and ends at once).
        resume = (planned.work_dir / 'last_checkpoint').is_file() and not args.force
        run(planned.train_command(args.cfg_options, resume), args.dry_run)
        checkpoint = (Path('<checkpoint named in last_checkpoint>') if args.dry_run
                      else last_checkpoint(planned.work_dir))
        run(planned.test_command(checkpoint, args.cfg_options), args.dry_run)
    plot = args.plot or args.work_dir / 'data_efficiency.png'
    run([sys.executable, str(COMPARE_TOOL), *[str(r.work_dir) for r in runs],
         '--metric', args.metric, '--plot', str(plot)], args.dry_run)
    return runs


if __name__ == '__main__':
    main()
