# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""mmseg_sam.analysis.compare_runs on hand-written work dirs: the MMEngine JSON files it
reads (``scalars.json``, the test dump ``<ts>.json``, ``vis_data/config.py``), how each column
is computed from them, and what it says when a file is missing or cut off."""
import json
from pathlib import Path
from typing import List, Optional

import pytest

from mmseg_sam.analysis import compare_runs as lib

CONFIG = """
model = dict(type='EncoderDecoder', pretrained=None,
             backbone=dict(type='SAMFrozenBackbone', init_cfg=dict(
                 type='Pretrained', checkpoint='https://host/sam_vit_b_01ec64.pth')))
train_dataloader = dict(dataset=dict(type='SeededSubsetDataset', size=5, seed=3))
train_cfg = dict(type='IterBasedTrainLoop', max_iters={max_iters})
test_evaluator = [dict(type='IoUMetric'), dict(type='PerImageIoUMetric', foreground_index=1)]
load_from = {load_from!r}
"""

TABLE = """2026/01/01 00:00:00 - mmengine - INFO - per class results:
2026/01/01 00:00:00 - mmengine - INFO -
+------------+-------+-------+
|   Class    |  IoU  |  Acc  |
+------------+-------+-------+
| background | 90.5  | 95.0  |
|  adboard   | {fg}  | 70.0  |
+------------+-------+-------+
"""


def write_session(folder: Path, name: str, scalars: Optional[List[dict]] = None,
                  test_dump=None, config: Optional[str] = None,
                  log: Optional[str] = None) -> Path:
    """A ``<name>/`` session folder with the files MMEngine writes, those given only."""
    session = folder / name
    (session / 'vis_data').mkdir(parents=True)
    if scalars is not None:
        (session / 'vis_data' / 'scalars.json').write_text(
            ''.join(json.dumps(entry) + '\n' for entry in scalars))
    if test_dump is not None:
        text = test_dump if isinstance(test_dump, str) else json.dumps(test_dump)
        (session / f'{name}.json').write_text(text)
    if config is not None:
        (session / 'vis_data' / 'config.py').write_text(config)
    if log is not None:
        (session / f'{name}.log').write_text(log)
    return session


def train_entry(step: int, seconds: float, **more) -> dict:
    """A training line of scalars.json as MMEngine 0.10 writes it."""
    return dict(lr=1e-4, data_time=0.01, loss=0.5, decode={'loss_ce': 0.5}, time=seconds,
                iter=step, step=step, **more)


@pytest.fixture
def work_dir(tmp_path) -> Path:
    """A run of 30 iterations in two sessions (the second resumed at 20), validated at 20
    and 30, tested once into ``test/``."""
    root = tmp_path / 'cfg_a'
    root.mkdir()
    config = CONFIG.format(max_iters=30, load_from=None)
    (root / 'cfg_a.py').write_text(config)
    write_session(root, '20260101_000000', config=config, scalars=[
        train_entry(10, 0.5, memory=100), train_entry(20, 0.7, memory=300),
        dict(aAcc=90.0, mIoU=50.0, mAcc=60.0, per_image_fg_iou=40.0, step=20),
    ], log=TABLE.format(fg='11.0'))
    write_session(root, '20260101_010000', config=config, scalars=[
        train_entry(20, 1.0, memory=200), train_entry(30, 2.0, memory=250),
        dict(aAcc=91.0, mIoU=55.0, mAcc=61.0, per_image_fg_iou=45.0, step=30),
    ], log=TABLE.format(fg='12.0'))
    (root / 'last_checkpoint').write_text(str(root / 'iter_30.pth'))
    write_session(root / 'test', '20260102_000000',
                  config=CONFIG.format(max_iters=30, load_from=str(root / 'iter_30.pth')),
                  test_dump=dict(aAcc=92.0, mIoU=60.5, mAcc=70.0, per_image_fg_iou=48.25,
                                 num_images=2, data_time=0.1, time=0.2),
                  log=TABLE.format(fg='33.3'))
    return root


def summary(folder: Path) -> lib.Row:
    [run] = lib.collect_runs([folder])
    return lib.summarise(run, with_params=False)


def test_columns_from_the_json_files(work_dir):
    row = summary(work_dir)
    assert row.model == 'cfg_a' and row.max_iters == 30 and row.iterations == 30
    # Merged by iteration, the resumed session's entry at 20 wins: 10 * 0.5 + 10 * 1.0 +
    # 10 * 2.0 seconds.
    assert row.train_time_s == pytest.approx(35.0)
    assert row.peak_memory_mb == 250  # of the merged entries: the resumed 20 replaced 300
    assert (row.labelled_images, row.subset_seed) == (5, 3)
    assert row.pretrained == 'sam_vit_b_01ec64.pth'
    assert (row.miou, row.per_image_fg_iou) == (60.5, 48.25)  # the test dump
    assert (row.fg_iou, row.fg_class) == (33.3, 'adboard')  # the test session's table
    assert row.metrics_from == 'test (iter_30.pth)'  # load_from of its dumped config
    assert row.notes == []
    table = lib.markdown_table([row]).splitlines()[2]
    cells = [cell.strip() for cell in table.strip('|').split('|')]
    assert cells[5:11] == ['30', '35.0 s', '250 MB', '60.50', '33.30 (adboard)', '48.25']


def test_without_a_test_the_last_validation_counts(work_dir):
    import shutil
    shutil.rmtree(work_dir / 'test')
    row = summary(work_dir)
    assert row.metrics_from == 'val @ 30'
    assert (row.miou, row.per_image_fg_iou, row.fg_iou) == (55.0, 45.0, 12.0)


def test_prefixed_metric_keys_count(work_dir):
    dump = next((work_dir / 'test').glob('2*/2*.json'))
    dump.write_text(json.dumps({'test/mIoU': 61.0, 'test/per_image_fg_iou': 49.0}))
    row = summary(work_dir)
    assert (row.miou, row.per_image_fg_iou) == (61.0, 49.0)


def test_logs_are_needed_for_the_foreground_iou_only(work_dir):
    for log in work_dir.rglob('2*/2*.log'):
        log.unlink()
    row = summary(work_dir)
    assert (row.iterations, row.train_time_s, row.miou) == (30, pytest.approx(35.0), 60.5)
    assert row.metrics_from == 'test (iter_30.pth)'
    assert row.fg_iou is None
    [note] = row.notes
    assert note.startswith('foreground IoU: no IoUMetric per-class table in ')
    assert note.endswith('test/20260102_000000/20260102_000000.log')


def test_missing_config_is_named(work_dir):
    (work_dir / 'cfg_a.py').unlink()
    for config in work_dir.rglob('vis_data/config.py'):
        config.unlink()
    row = summary(work_dir)
    assert row.model == 'cfg_a'  # the folder name without a dumped config
    assert row.metrics_from == 'test (?)'  # no config with load_from, no log line either
    assert row.labelled_images is None and row.max_iters is None
    assert row.notes[0] == (f'no saved config: neither <session>/vis_data/config.py nor '
                            f'{work_dir}/<config name>.py')


def test_cut_off_files_are_read_as_far_as_they_go(work_dir):
    scalars = work_dir / '20260101_010000' / 'vis_data' / 'scalars.json'
    scalars.write_text(scalars.read_text()[:-20])  # killed while writing the last line
    dump = next((work_dir / 'test').glob('2*/2*.json'))
    dump.write_text('{"mIoU": 60')  # a test killed while dumping: no test session
    row = summary(work_dir)
    assert row.iterations == 30  # the last line is gone, last_checkpoint still says 30
    assert row.metrics_from == 'val @ 20'
    assert lib.read_test_dump(dump) is None


def test_missing_files_are_named_in_the_errors(tmp_path):
    (tmp_path / 'only_config').mkdir()
    (tmp_path / 'only_config' / 'cfg.py').write_text('model = dict()\n')
    write_session(tmp_path / 'only_config', '20260101_000000')  # no scalars.json, no log
    with pytest.raises(lib.NotARunError, match=r'only_config: not a training work dir: '
                                               r'expected <timestamp>/vis_data/scalars\.json'):
        lib.collect_runs([tmp_path / 'only_config'])
    write_session(tmp_path / 'tests_only', '20260101_000000', test_dump={'mIoU': 1.0})
    with pytest.raises(lib.NotARunError, match='holds tools/test.py sessions but no training'):
        lib.collect_runs([tmp_path / 'tests_only'])
    with pytest.raises(lib.NotARunError, match='missing: no such directory'):
        lib.collect_runs([tmp_path / 'missing'])


def test_load_from_is_read_without_running_the_config(tmp_path):
    config = tmp_path / 'config.py'
    config.write_text("import os\nraise SystemExit('never run')\nload_from = '/w/iter_8.pth'\n")
    assert lib.read_load_from(config) == '/w/iter_8.pth'
    config.write_text('load_from = None\n')
    assert lib.read_load_from(config) is None
    config.write_text('load_from = (\n')  # cut off
    assert lib.read_load_from(config) is None


def test_train_time_multiplies_each_mean_by_the_iterations_it_covers():
    entries = [dict(iter=10, time=0.5), dict(iter=20, time=1.0), dict(iter=25, time=2.0)]
    assert lib.train_time(entries) == pytest.approx(5 + 10 + 10)
    assert lib.train_time([dict(iter=10, loss=1.0)]) is None  # no time logged
