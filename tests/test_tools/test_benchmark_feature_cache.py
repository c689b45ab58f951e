# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""tools/analysis/benchmark_feature_cache.py: real epochs of a tiny config with and without
its feature cache, the table it prints, and the pure helpers of its package module."""
import pytest
from helpers import load_script, write_segmentation_tree, write_tiny_run_config

from mmseg_sam.analysis import benchmark_feature_cache as lib

OURS = 'configs/sam_frozen/convtrans-ln_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py'


def test_times_epochs_with_and_without_the_cache(repo_root, tmp_path, capsys):
    data_root = write_segmentation_tree(tmp_path / 'data', {'train': 4})
    config = write_tiny_run_config(repo_root, OURS, tmp_path / 'tiny.py', data_root)
    tool = load_script(repo_root / 'tools' / 'analysis' / 'benchmark_feature_cache.py')
    results = tool.main([str(config), '--frames', '2', '--epochs', '2'])
    output = capsys.readouterr().out
    assert set(results) == {'no cache', 'cache'}
    assert all(len(t) == 2 and all(s > 0 for s in t) for t in results.values())
    assert any(line.startswith('2 frames, batch 2, ') for line in output.splitlines())
    assert '| feature cache | epoch 1 (s) | epoch 2 (s) |' in output
    assert f'epochs after the first: {lib.speedup(results):.2f}x faster' in output
    with pytest.raises(ValueError, match='--frames 9: the training set has only 3'):
        tool.main([str(config), '--frames', '9', '--epochs', '1'])


def test_table_and_speedup():
    results = {'no cache': [4.0, 2.0, 4.0], 'cache': [5.0, 1.0, 2.0]}
    assert lib.render_table(results).splitlines() == [
        '| feature cache | epoch 1 (s) | epoch 2 (s) | epoch 3 (s) |', '|---|---|---|---|',
        '| no cache | 4.0 | 2.0 | 4.0 |', '| cache | 5.0 | 1.0 | 2.0 |']
    assert lib.speedup(results) == pytest.approx(2.0)  # epochs 2 and 3: 6 s over 3 s
    assert lib.speedup({'no cache': [3.0], 'cache': [1.5]}) == pytest.approx(2.0)
