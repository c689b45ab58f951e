# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Command-line handling shared by ``tools/train.py`` and ``tools/test.py``.

Both tools take a config path, ``--work-dir``, ``--cfg-options``, ``--launcher`` and
``--local_rank`` and turn them into config values the same way; this module does that once so
that the two tools cannot drift apart. Tool-specific options (``--resume``, ``--tta``, ...)
stay in the tools.
"""
import argparse
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

from mmengine.config import Config, DictAction

from .checkpoint_files import check_checkpoint_file
from .config_loading import load_config_file

#: Values of ``--launcher``; ``none`` runs a single process without torch.distributed.
LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def add_common_runner_arguments(parser: argparse.ArgumentParser,
                                cfg_options_help: str = 'override config values') -> None:
    """Add ``--cfg-options``, ``--launcher`` and ``--local_rank`` to ``parser``.

    They are added last, after the tool's own options, so that ``--help`` lists them where the
    tools always had them.

    Args:
        parser: The tool's parser.
        cfg_options_help: Help text of ``--cfg-options`` (the tools give different examples).
    """
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help=cfg_options_help)
    parser.add_argument('--launcher', choices=list(LAUNCHERS), default='none',
                        help='job launcher')
    # torchrun passes the rank through LOCAL_RANK; older launchers pass --local-rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_args(parser: argparse.ArgumentParser,
                      argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse ``argv`` (default ``sys.argv[1:]``) and export ``--local_rank`` as ``LOCAL_RANK``.

    ``setdefault`` keeps a ``LOCAL_RANK`` that torchrun already set; launchers that pass only
    ``--local-rank`` get it exported for MMEngine's ``init_dist``, which reads the environment.
    """
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def _check_files_exist(files: Sequence[Tuple[str, str]], allow_urls: bool) -> None:
    """Raise FileNotFoundError for the first ``(what, path)`` whose file does not exist.

    Checked before anything is loaded so that a typo fails with the path in the message
    rather than deep inside MMEngine.
    """
    for what, path in files:
        if osp.isfile(path):
            continue
        if allow_urls and str(path).startswith(('http://', 'https://')):
            continue
        raise FileNotFoundError(f'{what} file not found: {path}')


def load_config(args: argparse.Namespace, extra_files: Sequence[Tuple[str, str]] = (),
                allow_urls: bool = False) -> Config:
    """Load ``args.config`` and apply ``--launcher``, ``--cfg-options`` and ``--work-dir``.

    The work dir is, in order of precedence: ``--work-dir``, the config's ``work_dir`` (which
    ``--cfg-options`` may set), ``./work_dirs/<config file name without extension>``.

    Args:
        args: Parsed arguments with ``config``, ``launcher``, ``cfg_options`` and ``work_dir``.
        extra_files: ``(what, path)`` of further input files (e.g. ``('checkpoint', path)``)
            to check, after the config, before the config is loaded.
        allow_urls: Accept ``http(s)://`` URLs for the config and ``extra_files`` in the
            existence check (checkpoints may be downloaded by MMEngine).

    Returns:
        The config, with ``launcher`` and ``work_dir`` set.

    Raises:
        FileNotFoundError: ``'<what> file not found: <path>'`` for the first missing file.
    """
    _check_files_exist([('config', args.config), *extra_files], allow_urls)
    # ``launcher`` goes in before the user's options, so that ``--cfg-options launcher=...``
    # still wins over ``--launcher``, as when the two were set one after the other.
    cfg = load_config_file(args.config, {'launcher': args.launcher, **(args.cfg_options or {})})
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


def check_runner_checkpoint(cfg: Config, what: str = 'load_from') -> None:
    """Check the checkpoint the runner will load or resume from, before it builds anything.

    Which file MMEngine's ``Runner.load_or_resume`` reads: ``cfg.load_from`` (with or without
    ``cfg.resume``), or with ``cfg.resume`` alone the latest checkpoint named by the work
    dir's ``last_checkpoint`` file, when there is one. URLs are left to the loader.

    Args:
        cfg: the runner config (``load_from``, ``resume``, ``work_dir``).
        what: how the messages name ``load_from`` (``'--resume'``, ``'CHECKPOINT'``, ...).

    Raises:
        FileNotFoundError, CheckpointFileError, UnsafeCheckpointError: see
            :func:`~mmseg_sam.utils.checkpoint_files.check_checkpoint_file`.
    """
    path = cfg.get('load_from')
    if path is None and cfg.get('resume') and cfg.get('work_dir'):
        from mmengine.runner import find_latest_checkpoint
        path = find_latest_checkpoint(cfg.work_dir)
        what = f'--resume (latest checkpoint of {cfg.work_dir})'
    if path:
        check_checkpoint_file(path, what=what)


def prepare_cpu_distributed(cfg: Config) -> None:
    """Make ``--launcher pytorch`` work on machines without CUDA (gloo, DDP on CPU).

    MMEngine 0.10's ``init_dist`` always calls ``torch.cuda.set_device``, and its DDP wrapper
    passes ``device_ids=[LOCAL_RANK]``, which DDP refuses for a model on the CPU; neither can
    be changed from a config. The tools call this after building their config and before the
    runner. Without CUDA this starts the process group itself with gloo
    (MMEngine then skips ``init_dist``) unless the config names another backend, and lets
    DDP wrap the CPU model (``device_ids=None``, unless the config sets it). With CUDA, or
    without a launcher, nothing changes.
    """
    import torch
    import torch.distributed as torch_dist
    if cfg.get('launcher') != 'pytorch' or torch.cuda.is_available():
        return
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend=dist_cfg['backend'])
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper


def finish_distributed() -> None:
    """Close the process group a distributed run opened (no-op otherwise).

    Why: a gloo process group left open until interpreter exit is torn down with its worker
    threads still attached, and a rank then sometimes aborts *after* a finished run
    ("terminate called without an active exception", exit code -6), which fails the whole
    ``torchrun`` job. The tools call this once their runner is done.
    """
    import torch.distributed as torch_dist
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()  # no rank tears down while another still communicates
        torch_dist.destroy_process_group()
