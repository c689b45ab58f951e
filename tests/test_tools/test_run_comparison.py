# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""tools/analysis/run_comparison.py: the planned commands, its checks, and one real
comparison of a tiny config on 1 and 2 labelled images through the stock tools."""
import shutil
import sys
from pathlib import Path

import pytest
from helpers import load_script, write_segmentation_tree, write_tiny_run_config

from mmseg_sam.analysis import run_comparison as lib

OURS = 'configs/sam_frozen/convtrans-ln_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py'
FAST_SCNN = 'configs/baselines/fast-scnn_1xb2-500_football-adboard-576x1024.py'


@pytest.fixture(scope='module')
def tool(repo_root):
    return load_script(repo_root / 'tools' / 'analysis' / 'run_comparison.py')


def commands(output: str):
    return [line[2:].split() for line in output.splitlines() if line.startswith('$ ')]


def test_dry_run_plans_the_final_protocol(tool, repo_root, tmp_path, capsys):
    ours, baseline = repo_root / OURS, repo_root / FAST_SCNN
    runs = tool.main([str(ours), str(baseline), '--frames', '10', '90', '--seeds', '3',
                      '--from-scratch', str(baseline), '--work-dir', str(tmp_path),
                      '--dry-run'])
    planned = commands(capsys.readouterr().out)
    assert [r.work_dir.name for r in runs] == [
        f'{ours.stem}_f10_s3', f'{ours.stem}_f90_s3',
        f'{baseline.stem}-scratch_f10_s3', f'{baseline.stem}-scratch_f90_s3']
    assert len(planned) == 2 * len(runs) + 1  # train + test each, then one comparison
    for index, run in enumerate(runs):
        train, test = planned[2 * index], planned[2 * index + 1]
        # Shown as a user would type them: `python`, paths relative to the repository.
        shown_config = str(run.config.relative_to(repo_root))
        assert train[:3] == ['python', 'tools/train.py', shown_config]
        options = train[train.index('--cfg-options') + 1:]
        assert f'train_dataloader.dataset.size={run.frames}' in options
        assert 'train_dataloader.dataset.seed=3' in options
        for option in ('train_dataloader.dataset.held_out=0', 'val_cfg=None',
                       'default_hooks.checkpoint.save_best=None'):
            assert option in options
        assert ('model.pretrained=None' in options) == run.from_scratch
        assert ('model.backbone.init_cfg=None' in options) == run.from_scratch
        assert test[:2] == ['python', 'tools/test.py']
        assert test[-2:] == ['--work-dir', str(run.work_dir / 'test')]
    compare = planned[-1]
    assert compare[1] == 'tools/analysis/compare_runs.py'
    assert compare[2:6] == [str(r.work_dir) for r in runs]
    assert compare[-2:] == ['--plot', str(tmp_path / 'data_efficiency.png')]


def test_bad_arguments_are_named(tool, repo_root, tmp_path):
    with pytest.raises(SystemExit, match=r'missing\.py: no such file'):
        tool.main([str(tmp_path / 'missing.py'), '--frames', '1', '--dry-run'])
    plain = tmp_path / 'plain.py'
    plain.write_text("train_dataloader = dict(dataset=dict(type='AdBoardDataset'))\n")
    with pytest.raises(SystemExit, match=r"plain\.py: train_dataloader.dataset is "
                                         r"'AdBoardDataset'; a SeededSubsetDataset"):
        tool.main([str(plain), '--frames', '1', '--dry-run'])
    with pytest.raises(SystemExit, match='--from-scratch names configs that are not compared'):
        tool.main([str(repo_root / OURS), '--frames', '1', '--dry-run',
                   '--from-scratch', str(repo_root / FAST_SCNN)])
    with pytest.raises(SystemExit, match=r'--from-scratch .*convtrans-ln_sam-vit-t.*'
                                         r'would stay random'):
        tool.main([str(repo_root / OURS), '--frames', '1', '--dry-run',
                   '--from-scratch', str(repo_root / OURS)])
    with pytest.raises(SystemExit):  # argparse: counts must be positive
        tool.main([str(repo_root / OURS), '--frames', '0', '--dry-run'])
    with pytest.raises(SystemExit, match=r'exited with status 3:\n  python -c'):
        lib.run([sys.executable, '-c', 'raise SystemExit(3)'], dry_run=False)


def test_real_comparison_trains_tests_compares_and_resumes(tool, repo_root, tmp_path,
                                                          capfd):
    data_root = write_segmentation_tree(tmp_path / 'data', {'train': 4, 'test': 2})
    config = write_tiny_run_config(repo_root, OURS, tmp_path / 'tiny.py', data_root)
    root = tmp_path / 'runs'
    runs = tool.main([str(config), '--frames', '1', '2', '--work-dir', str(root)])
    output = capfd.readouterr().out
    for run in runs:
        assert Path((run.work_dir / 'last_checkpoint').read_text().strip()).name == 'iter_2.pth'
        assert lib.is_tested(run.work_dir)
    # compare_runs' table: one row per run, each scored on the test split.
    rows = [line for line in output.splitlines() if line.startswith('| tiny |')]
    assert len(rows) == 2 and all('test (iter_2.pth)' in row for row in rows)
    assert (root / 'data_efficiency.png').read_bytes()[:4] == b'\x89PNG'
    # A second call skips what is tested already and only compares again.
    tool.main([str(config), '--frames', '1', '2', '--work-dir', str(root), '--dry-run'])
    again = capfd.readouterr().out
    assert again.count('tested already, skipped') == 2
    assert [c[1] for c in commands(again)] == ['tools/analysis/compare_runs.py']
    # A run with a checkpoint but no test (training or testing was interrupted) resumes;
    # --force starts it afresh.
    shutil.rmtree(runs[1].work_dir / 'test')
    tool.main([str(config), '--frames', '1', '2', '--work-dir', str(root), '--dry-run'])
    planned = commands(capfd.readouterr().out)
    assert [c[1] for c in planned] == ['tools/train.py', 'tools/test.py',
                                       'tools/analysis/compare_runs.py']
    assert '--resume' in planned[0] and str(runs[1].work_dir) in planned[0]
    tool.main([str(config), '--frames', '1', '2', '--work-dir', str(root), '--dry-run',
               '--force'])
    forced = [c for c in commands(capfd.readouterr().out) if c[1] == 'tools/train.py']
    assert len(forced) == 2 and not any('--resume' in c for c in forced)
