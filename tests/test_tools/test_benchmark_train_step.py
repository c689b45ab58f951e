# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""tools/analysis/benchmark_train_step.py: real timed steps of two tiny configs (ours with
its feature cache, and MMSeg's Fast-SCNN), the table it prints, and its argument checks."""
import json

import pytest
from helpers import load_script, write_segmentation_tree, write_tiny_run_config

from mmseg_sam.analysis import benchmark_train_step as lib

OURS = 'configs/sam_frozen/convtrans-ln_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py'
FAST_SCNN = 'configs/baselines/fast-scnn_1xb2-500_football-adboard-576x1024.py'


@pytest.fixture(scope='module')
def tool(repo_root):
    return load_script(repo_root / 'tools' / 'analysis' / 'benchmark_train_step.py')


def write_tiny_fast_scnn(repo_root, path, data_root):
    """The Fast-SCNN baseline on 64 x 64 images from ``data_root``, no worker processes."""
    pipeline = ("[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), "
                "dict(type='Resize', scale=(64, 64), keep_ratio=False), "
                "dict(type='PackSegInputs')]")
    path.write_text(f"""
_base_ = [{str(repo_root / FAST_SCNN)!r}]
model = dict(data_preprocessor=dict(size=(64, 64)))
train_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(
    held_out=0, dataset=dict(data_root={str(data_root)!r}, pipeline={pipeline})))
""")
    return path


def test_times_real_steps_and_prints_the_table(tool, repo_root, tmp_path, capsys):
    data_root = write_segmentation_tree(tmp_path / 'data', {'train': 4})
    ours = write_tiny_run_config(repo_root, OURS, tmp_path / 'tiny_ours.py', data_root)
    fast_scnn = write_tiny_fast_scnn(repo_root, tmp_path / 'tiny_fast_scnn.py', data_root)
    rows = tool.main([str(ours), str(fast_scnn), '--warmup', '1', '--steps', '2',
                      '--json', str(tmp_path / 'out' / 'rows.json')])
    output = capsys.readouterr().out
    assert [row['config'] for row in rows] == ['tiny_ours', 'tiny_fast_scnn']
    for row in rows:
        assert len(row['step_seconds']) == 2 and all(s > 0 for s in row['step_seconds'])
        assert row['batch_size'] == 2
        assert 0 < row['trainable_params'] <= row['total_params']
    # Ours: frozen encoder, so fewer trainable than total parameters, and the timed steps
    # read its output from the cache (1 miss per image in the warm-up, then hits only).
    assert rows[0]['trainable_params'] < rows[0]['total_params']
    assert [row['max_iters'] for row in rows] == [2, 500]  # each config's own train_cfg
    assert rows[0]['feature_cache_stats']['misses'] == 2
    assert rows[0]['feature_cache_stats']['hits'] == 2 * 2
    assert rows[1]['feature_cache_stats'] is None
    assert rows[1]['trainable_params'] == rows[1]['total_params']
    table = [line for line in output.splitlines() if line.startswith('| `')]
    assert len(table) == 2
    assert table[0].split(' | ')[4] == '1.0'  # ratio of the first config to itself
    ratio = rows[1]['median_step_s'] / rows[0]['median_step_s']
    assert table[1].split(' | ')[4] == f'{ratio:.1f}'
    assert json.loads((tmp_path / 'out' / 'rows.json').read_text())[1]['config'] == 'tiny_fast_scnn'


def test_bad_arguments_are_named(tool, tmp_path):
    with pytest.raises(SystemExit, match=r'missing\.py: no such file'):
        tool.main([str(tmp_path / 'missing.py')])
    model_only = tmp_path / 'model_only.py'
    model_only.write_text("model = dict(type='EncoderDecoder')\n")
    with pytest.raises(SystemExit, match=r'model_only\.py: a training config needs .*; '
                                         r'train_dataloader, optim_wrapper missing'):
        tool.main([str(model_only)])


@pytest.mark.parametrize('option', [['--steps', '0'], ['--warmup', '-1']])
def test_step_counts_are_checked(tool, tmp_path, capsys, option):
    with pytest.raises(SystemExit):
        tool.main([str(tmp_path / 'never_read.py'), *option])
    assert '--steps must be 1 or more and --warmup 0 or more' in capsys.readouterr().err


def test_durations_switch_to_hours_past_90_minutes():
    assert lib.format_duration(89 * 60) == '89 min'
    assert lib.format_duration(2 * 3600) == '2.0 h'
