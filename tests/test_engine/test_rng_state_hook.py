# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""RngStateHook: generator states into checkpoints, back on resume only. The end-to-end
kill-and-resume run is in tests/test_tools/test_resume_and_distributed.py."""
import io
import logging
import random
from types import SimpleNamespace

import numpy as np
import torch
from mmengine.config import Config

from mmseg_sam.engine.hooks import RngStateHook
from mmseg_sam.engine.hooks.rng_state_hook import capture_rng_state, restore_rng_state


def draws():
    return (torch.rand(3).tolist(), np.random.rand(3).tolist(), np.random.randn(),
            random.random(), random.gauss(0, 1))


def fake_runner(iteration: int, epoch: int = 0):
    return SimpleNamespace(iter=iteration, epoch=epoch, logger=logging.getLogger('test'),
                           cfg=Config(dict(randomness=dict(seed=0))))


def saved_checkpoint(iteration: int) -> dict:
    checkpoint = dict(meta=dict(iter=iteration, epoch=0))
    RngStateHook().before_save_checkpoint(fake_runner(iteration), checkpoint)
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_restore_repeats_every_generator():
    np.random.randn()  # leaves a cached gaussian in numpy's state
    state = capture_rng_state()
    expected = draws()
    draws()
    restore_rng_state(state)
    assert draws() == expected


def test_state_is_plain_data_for_weights_only_loading():
    def plain(node):
        if isinstance(node, dict):
            return all(isinstance(k, str) and plain(v) for k, v in node.items())
        if isinstance(node, (list, tuple)):
            return all(plain(item) for item in node)
        return node is None or isinstance(node, (torch.Tensor, bool, int, float, str))
    # No numpy object or other global anywhere: nothing for the checkpoint allow-list.
    assert plain(capture_rng_state())


def test_resume_restores_the_saved_streams_in_before_train():
    checkpoint = saved_checkpoint(iteration=2)
    expected = draws()
    hook = RngStateHook()
    hook.after_load_checkpoint(fake_runner(0), checkpoint)
    draws()  # whatever happens between loading and training
    hook.before_train(fake_runner(2))  # the loop continues from the checkpoint's iteration
    assert draws() == expected


def same_state(first: dict, second: dict) -> bool:
    return (torch.equal(first['torch'], second['torch']) and first['numpy'] == second['numpy']
            and first['python'] == second['python'])


def test_load_from_keeps_the_fresh_generators():
    checkpoint = saved_checkpoint(iteration=2)
    draws()
    hook = RngStateHook()
    hook.after_load_checkpoint(fake_runner(0), checkpoint)
    before = capture_rng_state()
    hook.before_train(fake_runner(0))  # initial weights only: training starts at iteration 0
    assert same_state(capture_rng_state(), before)
    assert not same_state(before, checkpoint['meta']['rng_state'])


def test_checkpoint_without_states_is_resumed_as_before():
    hook = RngStateHook()
    hook.after_load_checkpoint(fake_runner(0), dict(meta=dict(iter=2, epoch=0)))
    before = capture_rng_state()
    hook.before_train(fake_runner(2))
    assert same_state(capture_rng_state(), before)


def test_states_are_restored_once():
    checkpoint = saved_checkpoint(iteration=2)
    hook = RngStateHook()
    hook.after_load_checkpoint(fake_runner(0), checkpoint)
    hook.before_train(fake_runner(2))
    draws()
    before = capture_rng_state()
    hook.before_train(fake_runner(2))  # a second train() in the same process
    assert same_state(capture_rng_state(), before)


def test_validation_leaves_the_training_streams_alone():
    hook = RngStateHook()
    expected = capture_rng_state()
    hook.before_val(fake_runner(2))
    draws()  # the validation loader's seed, anything drawn while validating
    checkpoint = dict(meta=dict(iter=2, epoch=0))
    hook.before_save_checkpoint(fake_runner(2), checkpoint)  # the best checkpoint
    draws()
    hook.after_val(fake_runner(2))
    assert same_state(capture_rng_state(), expected)
    assert same_state(checkpoint['meta']['rng_state'], expected)
