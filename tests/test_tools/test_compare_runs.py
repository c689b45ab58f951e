# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""tools/analysis/compare_runs.py on real work dirs: tiny 2-iteration runs of two configs
(ours and the FCN-head mix-in) trained with tools/train.py on 1 and 2 labelled images, and
tested with tools/test.py into the training work dir or a folder below it."""
import json
from pathlib import Path

import pytest
import torch
from helpers import load_script, write_segmentation_tree, write_tiny_run_config

from mmseg_sam.analysis import compare_runs as lib

MODELS = {
    'convtrans-ln_tiny': 'configs/sam_frozen/'
                         'convtrans-ln_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py',
    'fcn_tiny': 'configs/hybrids/fcn_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py',
}


@pytest.fixture(autouse=True, scope='module')
def one_torch_thread():
    """One torch thread: the CPUs are shared, and two competing threads run far slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def load_tool(repo_root: Path, relative: str):
    return load_script(repo_root / 'tools' / relative)


@pytest.fixture(scope='module')
def runs(repo_root, tmp_path_factory):
    """Three runs under one folder: ours on 1 and 2 images (tested into the work dir and
    into a sub-folder of it), the FCN mix-in on 2 images (validated only)."""
    tmp = tmp_path_factory.mktemp('compare')
    data_root = write_segmentation_tree(tmp / 'data', {'train': 4, 'test': 2})
    train, test = load_tool(repo_root, 'train.py'), load_tool(repo_root, 'test.py')
    plan = [('convtrans-ln_tiny', 1, 'same'), ('convtrans-ln_tiny', 2, 'below'),
            ('fcn_tiny', 2, None)]
    work_dirs = []
    for name, size, tested in plan:
        config = write_tiny_run_config(repo_root, MODELS[name], tmp / f'{name}.py', data_root)
        work_dir = tmp / 'runs' / f'{name}_{size}'
        train.main([str(config), '--work-dir', str(work_dir),
                    '--cfg-options', f'train_dataloader.dataset.size={size}',
                    f'train_dataloader.dataset.seed={len(work_dirs)}'])  # seeds 0, 1, 2
        if tested:
            test_dir = work_dir if tested == 'same' else work_dir / 'test'
            test.main([str(config), str(work_dir / 'iter_2.pth'), '--work-dir', str(test_dir)])
        work_dirs.append(work_dir)
    return dict(tmp=tmp, work_dirs=work_dirs, tool=load_tool(repo_root,
                                                               'analysis/compare_runs.py'))


def test_table_rows_hold_the_numbers_of_each_run(runs, capsys):
    out = runs['tmp'] / 'out'
    rows = runs['tool'].main([*map(str, runs['work_dirs']), '--plot', str(out / 'eff.png'),
                              '--json', str(out / 'rows.json')])
    table = capsys.readouterr().out
    assert table.startswith('| model | pretrained weights | trainable / total params | '
                            'labelled images | subset seed | iterations |')
    lines = [line for line in table.splitlines() if line.startswith('| ') and '_tiny' in line]
    assert len(lines) == 3
    by_dir = {Path(r.work_dir).name: r for r in rows}
    assert {n: r.labelled_images for n, r in by_dir.items()} == {
        'convtrans-ln_tiny_1': 1, 'convtrans-ln_tiny_2': 2, 'fcn_tiny_2': 2}
    assert {n: r.subset_seed for n, r in by_dir.items()} == {
        'convtrans-ln_tiny_1': 0, 'convtrans-ln_tiny_2': 1, 'fcn_tiny_2': 2}
    for name, row in by_dir.items():
        assert row.model == name.rsplit('_', 1)[0]  # the config name
        assert row.iterations == 2 and row.max_iters == 2
        assert row.train_time_s and row.train_time_s > 0
        assert row.peak_memory_mb is None  # CPU: MMEngine logs no memory
        # The frozen SAM trunk: some parameters but not all train.
        assert 0 < row.trainable_params < row.total_params
        for value in (row.miou, row.fg_iou, row.per_image_fg_iou):
            assert value is not None and 0 <= value <= 100
        assert row.fg_class == 'adboard'
    assert by_dir['convtrans-ln_tiny_1'].metrics_from == 'test (iter_2.pth)'
    assert by_dir['convtrans-ln_tiny_2'].metrics_from == 'test (iter_2.pth)'  # from test/
    assert by_dir['fcn_tiny_2'].metrics_from == 'val @ 2'
    # Same model, same parameter count; the table shows the row's numbers.
    ours = [r for r in rows if r.model == 'convtrans-ln_tiny']
    assert ours[0].total_params == ours[1].total_params
    first = next(line for line in lines if 'convtrans-ln_tiny_1' in line)
    cells = [cell.strip() for cell in first.strip('|').split('|')]
    assert cells[0] == 'convtrans-ln_tiny' and cells[3] == '1' and cells[5] == '2'
    assert cells[1] == 'none'  # the tiny test encoders start from random weights
    assert cells[4] == '0'  # subset seed of the first run
    assert cells[8] == f'{ours[0].miou:.2f}' and cells[9].endswith('(adboard)')
    assert cells[10] == f'{ours[0].per_image_fg_iou:.2f}' and cells[7] == 'n/a'
    # The PNG and the JSON rows.
    assert (out / 'eff.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert len(json.loads((out / 'rows.json').read_text())) == 3


def test_pretrained_weights_are_read_from_either_place(runs):
    name = lib.pretrained_weights
    assert name({'pretrained': 'open-mmlab://resnet50_v1c', 'backbone': {}}) == 'resnet50_v1c'
    assert name({'backbone': {'init_cfg': dict(
        type='Pretrained', checkpoint='https://host/x/mobile_sam.pt')}}) == 'mobile_sam.pt'
    assert name({'backbone': {'init_cfg': [dict(type='Kaiming', layer='Conv2d')]}}) == 'none'
    assert name({'pretrained': None, 'backbone': {'init_cfg': None}}) == 'none'


def test_random_init_runs_get_their_own_plot_line(runs, tmp_path):
    """One config run with and without pretrained weights: two lines, not one mean."""
    rows = [lib.summarise(run, with_params=False)
            for run in lib.collect_runs(runs['work_dirs'])]
    assert all(row.pretrained == 'none' for row in rows)
    pretrained = [lib.Row(**{**vars(row), 'pretrained': 'w.pth'}) for row in rows]
    lines = lib.data_efficiency_lines(rows + pretrained, 'mIoU')
    ours = {n: [row.miou] for row in rows if row.model == 'convtrans-ln_tiny'
            for n in [row.labelled_images]}
    assert lines['convtrans-ln_tiny'] == ours
    assert lines['convtrans-ln_tiny (random init)'] == ours
    assert set(lines) == {'convtrans-ln_tiny', 'convtrans-ln_tiny (random init)',
                          'fcn_tiny (validation)', 'fcn_tiny (random init) (validation)'}


def test_a_folder_of_runs_expands_to_them(runs, capsys):
    rows = runs['tool'].main([str(runs['tmp'] / 'runs'), '--no-plot', '--no-params'])
    capsys.readouterr()
    assert sorted(Path(r.work_dir).name for r in rows) == [
        'convtrans-ln_tiny_1', 'convtrans-ln_tiny_2', 'fcn_tiny_2']
    assert all(r.total_params is None for r in rows)


def test_plot_has_one_line_per_model(runs):
    rows = [lib.summarise(run, with_params=False)
            for run in lib.collect_runs(runs['work_dirs'])]
    path = lib.plot_data_efficiency(rows, 'mIoU', runs['tmp'] / 'miou.png')
    assert path.is_file() and path.stat().st_size > 1000
    assert lib.plot_data_efficiency([], 'mIoU', runs['tmp'] / 'none.png') is None


def test_folders_that_are_not_runs_are_named_in_the_error(runs, tmp_path):
    with pytest.raises(lib.NotARunError, match='no such directory'):
        runs['tool'].main([str(tmp_path / 'missing')])
    (tmp_path / 'empty').mkdir()
    with pytest.raises(lib.NotARunError, match=r'empty: not a training work dir'):
        runs['tool'].main([str(tmp_path / 'empty')])
    with pytest.raises(lib.NotARunError, match='holds tools/test.py sessions but no '
                                               'training session'):
        runs['tool'].main([str(runs['work_dirs'][1] / 'test')])


def test_log_fallbacks_without_scalars_json(runs, tmp_path):
    """Without LocalVisBackend's scalars.json the training and test numbers come from the
    logs; a run cut off mid-line still reads."""
    import shutil
    copy = tmp_path / 'copy'
    shutil.copytree(runs['work_dirs'][0], copy)
    for scalars in copy.glob('*/vis_data/scalars.json'):
        scalars.unlink()
    for dump in copy.glob('2*/2*.json'):
        dump.unlink()
    [run] = lib.collect_runs([copy])
    row = lib.summarise(run, with_params=False)
    original = lib.summarise(lib.collect_runs([runs['work_dirs'][0]])[0], with_params=False)
    # The text log prints each iteration's time to 4 decimals: up to 5e-5 s off per iteration.
    assert row.iterations == 2 and row.train_time_s == pytest.approx(original.train_time_s,
                                                                     abs=2 * 5e-5)
    assert row.miou == pytest.approx(original.miou, abs=0.01)
    assert row.per_image_fg_iou == pytest.approx(original.per_image_fg_iou, abs=0.01)
    assert lib.read_json_lines(_half_line(tmp_path)) == [{'a': 1}]


def _half_line(tmp_path: Path) -> Path:
    path = tmp_path / 'scalars.json'
    path.write_text('{"a": 1}\n{"b": 2')
    return path


def test_numbers_are_those_of_mmengine_json_files(runs, tmp_path):
    """A real run: the columns are computed from scalars.json, the test dump and the dumped
    config, and stay the same without any text log; the dataset-level foreground IoU of the
    JSON dump is the number of MMSeg's per-class table in the log."""
    import shutil
    work_dir = runs['work_dirs'][0]
    row = lib.summarise(lib.collect_runs([work_dir])[0], with_params=False)
    [scalars] = work_dir.glob('2*/vis_data/scalars.json')
    entries = [json.loads(line) for line in scalars.read_text().splitlines()]
    train = [e for e in entries if 'loss' in e]
    assert [e['iter'] for e in train] == [1, 2]  # logger interval 1
    assert row.train_time_s == pytest.approx(train[0]['time'] + train[1]['time'])
    [dump] = [p for p in work_dir.glob('2*/2*.json')]
    metrics = json.loads(dump.read_text())
    assert (row.miou, row.per_image_fg_iou) == (metrics['mIoU'], metrics['per_image_fg_iou'])
    copy = tmp_path / 'no_logs'
    shutil.copytree(work_dir, copy)
    for log in copy.rglob('2*/2*.log'):
        log.unlink()
    without = lib.summarise(lib.collect_runs([copy])[0], with_params=False)
    for name in ('iterations', 'max_iters', 'train_time_s', 'peak_memory_mb', 'miou',
                 'per_image_fg_iou', 'labelled_images', 'subset_seed', 'pretrained',
                 'metrics_from'):
        assert getattr(without, name) == getattr(row, name), name
    assert without.metrics_from == 'test (iter_2.pth)'  # load_from of the dumped config
    assert without.fg_iou == row.fg_iou == metrics['dataset_fg_iou']
    [test_session] = lib.collect_runs([work_dir])[0].test_sessions
    table = test_session.class_tables[-1]
    assert table[1][1] == pytest.approx(row.fg_iou, abs=0.005)  # the table has 2 decimals
    assert not without.notes

