# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Train and test configs on few-label subsets, then compare them (the logic of
``tools/analysis/run_comparison.py``, whose docstring describes the protocol).

:func:`plan_runs` lists the (config, N, seed) runs, :class:`PlannedRun` gives their
``tools/train.py`` and ``tools/test.py`` command lines, and :func:`run_comparison` runs them
as separate processes, skipping tested runs and resuming interrupted ones, then
``tools/analysis/compare_runs.py`` over all of them.

The stock tools are run from a source checkout: :data:`REPO_ROOT` is the folder above this
package (``tools/`` is not installed with it).
"""
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

from mmseg_sam.utils.pretrained_weights import WITHOUT_PRETRAINED_WEIGHTS_OPTIONS

__all__ = ['FINAL_PROTOCOL', 'FROM_SCRATCH', 'PlannedRun', 'check_config', 'is_tested',
           'last_checkpoint', 'plan_runs', 'run', 'run_comparison']

REPO_ROOT = Path(__file__).resolve().parents[2]
TRAIN_TOOL = REPO_ROOT / 'tools' / 'train.py'
TEST_TOOL = REPO_ROOT / 'tools' / 'test.py'
COMPARE_TOOL = REPO_ROOT / 'tools' / 'analysis' / 'compare_runs.py'

#: The final-protocol options: all N frames train, nothing is held out or validated, and the
#: last checkpoint is the one tested (no "best" checkpoint chosen on any split).
FINAL_PROTOCOL = ('train_dataloader.dataset.held_out=0', 'val_cfg=None', 'val_dataloader=None',
                  'val_evaluator=None', 'default_hooks.checkpoint.save_best=None')
#: The from-scratch switch (no pretrained weights) as ``--cfg-options`` items.
FROM_SCRATCH = WITHOUT_PRETRAINED_WEIGHTS_OPTIONS


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
        """tools/test.py of ``checkpoint`` on the test split, into ``<work dir>/test``."""
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
    from mmseg_sam.utils.config_loading import load_config_file
    cfg = load_config_file(config)
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
    """Print ``command`` as a user would type it (``python``, repository-relative paths) and,
    unless ``dry_run``, run it from the repository root.

    Raises:
        SystemExit: the command failed; the message shows it and says that tested runs stay.
    """
    shown = ['python' if part == sys.executable else part.replace(f'{REPO_ROOT}/', '')
             for part in command]
    print('$ ' + shlex.join(shown), flush=True)
    if not dry_run:
        returncode = subprocess.run(command, cwd=REPO_ROOT).returncode
        if returncode != 0:
            raise SystemExit(f'error: this command exited with status {returncode}:\n  '
                             f'{shlex.join(shown)}\nruns tested before it are kept and '
                             f'skipped when the comparison is started again')


def run_comparison(configs: Sequence[Path], frames: Sequence[int],
                   seeds: Sequence[Optional[int]] = (None,), from_scratch: Sequence[Path] = (),
                   work_dir: Path = Path('work_dirs/comparison'), plot: Optional[Path] = None,
                   metric: str = 'per_image_fg_iou', cfg_options: Sequence[str] = (),
                   dry_run: bool = False, force: bool = False) -> List[PlannedRun]:
    """Check the configs, train and test every planned run, then compare them all.

    Args:
        configs: configs to compare (each with a ``SeededSubsetDataset`` training set).
        frames: numbers of labelled training frames.
        seeds: subset seeds; ``None`` keeps each config's own.
        from_scratch: configs (of ``configs``) to train without pretrained weights.
        work_dir: folder of the runs, one sub-folder each.
        plot: data-efficiency PNG; default ``work_dir/data_efficiency.png``.
        metric: metric of the plot (``compare_runs.py --metric``).
        cfg_options: more ``KEY=VALUE`` options for every training and test.
        dry_run: print the commands without running them.
        force: run again from the start even where a test result or checkpoint exists.

    Returns:
        The planned runs, in the order they were run.
    """
    scratch = {path.resolve() for path in from_scratch}
    for config in configs:
        check_config(config, from_scratch=config.resolve() in scratch)
    runs = plan_runs(configs, frames, seeds, from_scratch, work_dir)
    for planned in runs:
        if is_tested(planned.work_dir) and not force:
            print(f'# {planned.work_dir}: tested already, skipped (--force runs it again)')
            continue
        # A checkpoint left by an interrupted training: go on from it (a finished training
        # resumes at its last iteration and ends at once).
        resume = (planned.work_dir / 'last_checkpoint').is_file() and not force
        run(planned.train_command(cfg_options, resume), dry_run)
        checkpoint = (Path('<checkpoint named in last_checkpoint>') if dry_run
                      else last_checkpoint(planned.work_dir))
        run(planned.test_command(checkpoint, cfg_options), dry_run)
    plot = plot or work_dir / 'data_efficiency.png'
    run([sys.executable, str(COMPARE_TOOL), *[str(r.work_dir) for r in runs],
         '--metric', metric, '--plot', str(plot)], dry_run)
    return runs
