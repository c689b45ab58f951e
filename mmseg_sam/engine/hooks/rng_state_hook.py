# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Save the random number generators in checkpoints, so that a resumed run repeats the
uninterrupted one exactly."""
import random
from typing import Any, Dict, Optional

import numpy as np
import torch
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

#: Key of the generator states in ``checkpoint['meta']``.
META_KEY = 'rng_state'


def capture_rng_state() -> Dict[str, Any]:
    """The states of torch (CPU and, if in use, the current CUDA device), numpy and random.

    Only tensors, ints, floats, None, strings, lists and dicts, so that a checkpoint holding
    them still loads with ``torch.load(weights_only=True)`` and no allow-list entry.
    """
    name, key, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    version, python_state, gauss_next = random.getstate()
    state: Dict[str, Any] = dict(
        torch=torch.get_rng_state(),
        numpy=dict(bit_generator=str(name), key=[int(k) for k in key], pos=int(pos),
                   has_gauss=int(has_gauss), cached_gaussian=float(cached_gaussian)),
        python=dict(version=int(version), state=[int(s) for s in python_state],
                    gauss_next=gauss_next))
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state()
    return state


def restore_rng_state(state: Dict[str, Any]) -> None:
    """Set the generators to a :func:`capture_rng_state` result (tensors on any device)."""
    torch.set_rng_state(state['torch'].cpu().to(torch.uint8))
    numpy_state = state['numpy']
    np.random.set_state((numpy_state['bit_generator'],
                         np.asarray(numpy_state['key'], dtype=np.uint32), numpy_state['pos'],
                         numpy_state['has_gauss'], numpy_state['cached_gaussian']))
    python_state = state['python']
    random.setstate((python_state['version'], tuple(python_state['state']),
                     python_state['gauss_next']))
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state['cuda'].cpu().to(torch.uint8))


@HOOKS.register_module()
class RngStateHook(Hook):
    """Store torch/numpy/random generator states in every checkpoint; restore them on resume.

    MMEngine's checkpoints hold the weights, optimizer, schedulers, message hub and the
    iteration, and its train loop skips the batches already trained, but the generators are
    only seeded once at start. A resumed run therefore draws different random numbers than
    the uninterrupted run would have from that iteration on (dropout masks, for one), and
    ends with different weights. With this hook it continues the same random streams.

    * Saving: the states go under ``checkpoint['meta']['rng_state']`` (rank 0, whose streams
      equal every rank's unless ``randomness.diff_rank_seed``).
    * Resuming: they are restored in ``before_train``, after everything MMEngine does on
      resume, and only when the train loop continues from the checkpoint's iteration and
      epoch: ``load_from`` (initial weights, iteration 0) keeps the freshly seeded generators.
    * Validation leaves the generators as it found them. Each validation pass starts a new
      data-loader iterator, which draws a seed from torch's generator; validation usually
      runs right after a checkpoint, and a run resumed from that checkpoint does not repeat
      it, so without this the resumed run would be one draw behind. A checkpoint written
      during validation (the best one) holds the training streams, as of before validation.

    Exact repetition also needs what MMEngine already provides: a fixed ``randomness.seed``
    (``deterministic=True`` on GPU) and a data pipeline whose randomness, if any, runs in
    loader worker processes (MMEngine re-seeds them identically and replays the skipped
    batches). A random pipeline in the main process (``num_workers=0``) draws again for the
    skipped batches and is not repeated exactly.
    """

    # Last in before_train (nothing drawn after the restore) and after_val (nothing drawn
    # during validation survives it).
    priority = 'LOWEST'

    def __init__(self) -> None:
        self._loaded: Optional[Dict[str, Any]] = None
        self._before_val: Optional[Dict[str, Any]] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = self._before_val if self._before_val is not None else capture_rng_state()
        checkpoint.setdefault('meta', {})[META_KEY] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta', {})
        self._loaded = None
        if META_KEY in meta:
            self._loaded = dict(state=meta[META_KEY], iter=meta.get('iter'),
                                epoch=meta.get('epoch'))

    def before_train(self, runner) -> None:
        loaded, self._loaded = self._loaded, None
        if loaded is None or (loaded['iter'], loaded['epoch']) != (runner.iter, runner.epoch):
            return  # nothing loaded, or loaded as initial weights (load_from), not resumed
        rank, world_size = get_dist_info()
        randomness = runner.cfg.get('randomness') or {}
        if world_size > 1 and randomness.get('diff_rank_seed', False) and rank != 0:
            # The checkpoint holds rank 0's streams only; other ranks keep their own seeds
            # rather than all drawing the same numbers as rank 0.
            runner.logger.info('RngStateHook: diff_rank_seed is set, this rank keeps its '
                               'own seeded generators (only rank 0 is saved)')
            return
        restore_rng_state(loaded['state'])
        runner.logger.info(f'RngStateHook: restored the random generator states of '
                           f'iteration {runner.iter} (epoch {runner.epoch})')

    def before_val(self, runner) -> None:
        self._before_val = capture_rng_state()

    def after_val(self, runner) -> None:
        state, self._before_val = self._before_val, None
        if state is not None:
            restore_rng_state(state)
