# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Real processes on CPU: a training run killed with SIGKILL and resumed ends with the weights
of the uninterrupted run; two processes (tools/dist_train.sh) train the model of one.

Tiny SAM encoder, 64 x 64 generated images, the frozen-feature cache on (as in our configs),
no loader workers, a fixed seed. Runs that do not depend on each other run side by side.
"""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import torch
from helpers import write_segmentation_tree, write_tiny_run_config
from mmengine.config import Config

from mmseg_sam.utils.checkpoint_files import load_checkpoint_file

pytestmark = pytest.mark.slow

OURS = 'configs/sam_frozen/convtrans-ln_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py'
MAX_ITERS = 6
KILL_AFTER = 2  # checkpoints every 2 iterations; the run is killed after the first one

# Loaded by the runs through custom_imports (its folder is put on PYTHONPATH). When the
# environment names an iteration, the run stops moving once that iteration's checkpoint is
# written, so that the test kills it at a known point instead of racing a fast CPU run.
STALL_HOOK = '''
import os
import time
from pathlib import Path

from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class StallAfterCheckpointHook(Hook):
    priority = 'LOWEST'  # after CheckpointHook (VERY_LOW) has saved this iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if os.environ.get('STALL_AFTER_ITER') == str(runner.iter + 1):
            Path(runner.work_dir, 'stalled').write_text(str(runner.iter + 1))
            time.sleep(3600)
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def write_configs(repo_root: Path, tmp_path: Path) -> Dict[str, Path]:
    """The tiny run config, with 6 iterations, a checkpoint and validation every 2, and
    its variants: without RngStateHook (control), and without dropout (distributed)."""
    # 4 images: 3 to train on, 1 held out for validation (write_tiny_run_config).
    data_root = write_segmentation_tree(tmp_path / 'data', {'train': 4}, size=(64, 64))
    base = write_tiny_run_config(repo_root, OURS, tmp_path / 'tiny_base.py', data_root)
    (tmp_path / 'stall_hook.py').write_text(STALL_HOOK)
    hooks = Config.fromfile(str(base)).custom_hooks
    assert dict(type='RngStateHook') in hooks  # the product config saves the generators
    run = tmp_path / 'run.py'
    run.write_text(f"""
_base_ = [{str(base)!r}]
custom_imports = dict(imports=['mmseg_sam', 'stall_hook'], allow_failed_imports=False)
custom_hooks = {[*hooks, dict(type='StallAfterCheckpointHook')]!r}
randomness = dict(seed=0, deterministic=True)
# Validation right after each checkpoint, as in our schedules (both every 100 iterations).
train_cfg = dict(max_iters={MAX_ITERS}, val_interval=2)
default_hooks = dict(checkpoint=dict(interval=2, max_keep_ckpts=-1))
""")
    control = tmp_path / 'run_without_rng_hook.py'
    kept = [hook for hook in hooks if hook['type'] != 'RngStateHook']
    control.write_text(f"""
_base_ = [{str(run)!r}]
custom_hooks = {[*kept, dict(type='StallAfterCheckpointHook')]!r}
""")
    no_dropout = tmp_path / 'run_without_dropout.py'
    # Dropout masks are drawn per process and batch shape: 1 process x batch 2 and 2
    # processes x batch 1 cannot draw the same ones, so this comparison trains without.
    # And with SGD: Adam divides by the root of the squared gradients, which turns float32
    # rounding of near-zero gradients into whole steps (measured up to 2.6e-3 on one CPU
    # type), while SGD keeps a difference of the gradients a difference of the same size.
    no_dropout.write_text(f"""
_base_ = [{str(run)!r}]
model = dict(decode_head=dict(block_dropouts=(0.0, 0.0, 0.0, 0.0)))
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
""")
    return dict(run=run, control=control, no_dropout=no_dropout)


def environment(tmp_path: Path, **extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.pop('STALL_AFTER_ITER', None)
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(tmp_path), env.get('PYTHONPATH')]))
    # One thread per process: the same arithmetic in every run, and two runs side by side
    # do not fight over the cores.
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', **extra)
    return env


def start_training(repo_root: Path, config: Path, work_dir: Path, env: Dict[str, str],
                   *options: str) -> subprocess.Popen:
    log = open(work_dir.with_suffix('.out'), 'w')
    return subprocess.Popen(
        [sys.executable, 'tools/train.py', str(config), '--work-dir', str(work_dir), *options],
        cwd=repo_root, env=env, stdout=log, stderr=subprocess.STDOUT)


def finish(process: subprocess.Popen, work_dir: Path, timeout: float = 240) -> str:
    process.wait(timeout=timeout)
    output = work_dir.with_suffix('.out').read_text()
    assert process.returncode == 0, output[-4000:]
    return output


def final_weights(work_dir: Path) -> Dict[str, torch.Tensor]:
    checkpoint = load_checkpoint_file(work_dir / f'iter_{MAX_ITERS}.pth', map_location='cpu')
    return checkpoint['state_dict']


def differing(first: Dict[str, torch.Tensor], second: Dict[str, torch.Tensor],
              atol: float = 0.0) -> List[str]:
    assert first.keys() == second.keys()
    return [key for key in first
            if not torch.allclose(first[key].float(), second[key].float(), rtol=0, atol=atol)]


def only_plain_types(node) -> bool:
    """What ``torch.load(weights_only=True)`` reads without any allow-list entry."""
    if isinstance(node, dict):
        return all(isinstance(k, str) and only_plain_types(v) for k, v in node.items())
    if isinstance(node, (list, tuple)):
        return all(only_plain_types(item) for item in node)
    return node is None or isinstance(node, (torch.Tensor, bool, int, float, str))


def test_resume_after_sigkill_ends_with_the_weights_of_the_uninterrupted_run(
        repo_root, tmp_path):
    configs = write_configs(repo_root, tmp_path)
    killed_dir, full_dir = tmp_path / 'killed', tmp_path / 'full'
    killed = start_training(repo_root, configs['run'], killed_dir,
                            environment(tmp_path, STALL_AFTER_ITER=str(KILL_AFTER)))
    full = start_training(repo_root, configs['run'], full_dir, environment(tmp_path))
    try:
        deadline = time.monotonic() + 240
        while not (killed_dir / 'stalled').exists():
            assert killed.poll() is None, killed_dir.with_suffix('.out').read_text()[-4000:]
            assert time.monotonic() < deadline, 'the run never reached its checkpoint'
            time.sleep(0.2)
        assert killed.poll() is None  # still running: killed mid-run, not after the end
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
    finally:
        if killed.poll() is None:
            killed.kill()
    assert killed.returncode == -signal.SIGKILL
    assert sorted(p.name for p in killed_dir.glob('iter_*.pth')) == [f'iter_{KILL_AFTER}.pth']
    assert (killed_dir / 'last_checkpoint').read_text().strip().endswith(
        f'iter_{KILL_AFTER}.pth')
    checkpoint = load_checkpoint_file(killed_dir / f'iter_{KILL_AFTER}.pth', map_location='cpu')
    assert checkpoint['meta']['iter'] == KILL_AFTER
    assert only_plain_types(checkpoint['meta']['rng_state'])

    # Auto-resume from the work dir (its last_checkpoint), as after a crash; and, as the
    # control, the same checkpoint resumed without RngStateHook.
    control_dir = tmp_path / 'control'
    resumed = start_training(repo_root, configs['run'], killed_dir, environment(tmp_path),
                             '--resume')
    control = start_training(repo_root, configs['control'], control_dir,
                             environment(tmp_path), '--resume',
                             str(killed_dir / f'iter_{KILL_AFTER}.pth'))
    finish(full, full_dir)
    resumed_log = finish(resumed, killed_dir)
    finish(control, control_dir)
    assert f'Advance dataloader {KILL_AFTER} steps' in resumed_log
    assert f'restored the random generator states of iteration {KILL_AFTER}' in resumed_log
    assert 'Frozen-feature cache ON' in resumed_log

    full_weights = final_weights(full_dir)
    # Exact: the same arithmetic on the same inputs with the same random numbers (features
    # served by the cache are rounded to float16 also on the miss that fills it).
    assert differing(final_weights(killed_dir), full_weights) == []
    # Without the generator states the dropout masks after the resume differ, and so do
    # the weights: the comparison above is not vacuous.
    assert differing(final_weights(control_dir), full_weights, atol=1e-6)


def cache_stats(log: str) -> Optional[Dict[str, int]]:
    """The stats of FrozenFeatureCacheHook's last 'Frozen-feature cache: ...' line."""
    import ast
    lines = [line for line in log.splitlines() if 'Frozen-feature cache: ' in line]
    return ast.literal_eval(lines[-1].split('stats ', 1)[1]) if lines else None


# 1 process x batch 2 and 2 processes x batch 1 sum the same gradients in a different order
# (one batched backward vs two backwards and gloo's all-reduce), so float32 rounding differs.
# With SGD (see write_configs) that stays at rounding size: measured on the final weights
# (824,705 elements) largest difference 2.2e-7, none beyond 1e-6. Runs that really differ
# (other images per step, dropout on in one) move weights by lr * gradient, orders above.
# Bounds: every element within ATOL, at most FRACTION of them beyond 1e-6.
DISTRIBUTED_ATOL = 1e-5
DISTRIBUTED_FRACTION_OVER_1E6 = 1e-3

def test_two_processes_train_the_model_of_one_with_the_same_global_batch(repo_root, tmp_path):
    """2 processes x batch 1 vs 1 process x batch 2: InfiniteSampler gives rank r the
    indices r, r + 2, ... of the one shuffled stream, so each iteration trains on the same
    2 images, and DDP's mean of the gradients equals the gradient of the batch-mean loss."""
    configs = write_configs(repo_root, tmp_path)
    single_dir, dist_dir = tmp_path / 'single', tmp_path / 'dist'
    single = start_training(repo_root, configs['no_dropout'], single_dir,
                            environment(tmp_path))
    env = environment(tmp_path, PORT=str(free_port()), MASTER_ADDR='127.0.0.1',
                      PYTHON=sys.executable)
    env['PATH'] = os.pathsep.join([str(Path(sys.executable).parent), env.get('PATH', '')])
    with open(dist_dir.with_suffix('.out'), 'w') as out:
        distributed = subprocess.run(
            ['bash', 'tools/dist_train.sh', str(configs['no_dropout']), '2',
             '--work-dir', str(dist_dir), '--cfg-options', 'train_dataloader.batch_size=1',
             # DEBUG makes MMEngine write every rank's log (rank 0's only otherwise).
             # No CUDA here: tools/train.py starts a gloo process group by itself.
             'log_level=DEBUG'],
            cwd=repo_root, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=240)
    output = dist_dir.with_suffix('.out').read_text()
    assert distributed.returncode == 0, output[-4000:]
    single_log = finish(single, single_dir)

    rank_logs = {rank: list(dist_dir.rglob(f'*_rank{rank}.log')) for rank in (0, 1)}
    assert all(len(logs) == 1 for logs in rank_logs.values()), rank_logs
    for rank, (log,) in rank_logs.items():
        text = log.read_text()
        assert 'Frozen-feature cache ON' in text, rank
        stats = cache_stats(text)
        # Each rank trains on 6 images out of 3 and validates 3 times on the held-out one:
        # its own cache computes each distinct image once and serves every repeat.
        assert stats is not None and stats['hits'] > 0 and stats['misses'] <= 4, (rank, stats)
    assert cache_stats(single_log)['hits'] > 0

    single_weights, dist_weights = final_weights(single_dir), final_weights(dist_dir)
    assert single_weights.keys() == dist_weights.keys()
    difference = torch.cat([(single_weights[key].float() - dist_weights[key].float()).abs()
                            .flatten() for key in single_weights])
    over = (difference > 1e-6).float().mean().item()
    print(f'1 vs 2 processes: largest weight difference {difference.max().item():.3g}, '
          f'{100 * over:.4f} % of {difference.numel()} elements beyond 1e-6')
    assert difference.max().item() <= DISTRIBUTED_ATOL
    assert over <= DISTRIBUTED_FRACTION_OVER_1E6
