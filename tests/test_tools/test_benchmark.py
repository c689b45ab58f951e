# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""tools/analysis/benchmark.py on a tiny custom SAM ViT: every row, the table, the checks."""
import json

import pytest
from helpers import TINY_VIT_ARCH, load_script

from mmseg_sam.analysis.benchmark import parse_mode


@pytest.fixture(scope='module')
def tool(repo_root):
    return load_script(repo_root / 'tools' / 'analysis' / 'benchmark.py')


def test_one_run_prints_every_row(tool, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr('sys.argv', ['benchmark.py'])
    rows = tool.main(['--arch', json.dumps(TINY_VIT_ARCH), '--size', '64', '96',
                      '--batch', '2', '--modes', 'sdpa-fp32', 'sdpa-bf16', '--warmup', '0',
                      '--iters', '1', '--train-steps', '1', '--device', 'cpu',
                      '--json', str(tmp_path / 'rows.json')])
    output = capsys.readouterr().out
    assert [(row['what'], row['mode'].split(',')[0]) for row in rows] == [
        ('encoder', 'official ImageEncoderViT fp32'), ('encoder', 'sdpa-fp32'),
        ('encoder', 'sdpa-bf16'),
        ('train step, cached', 'official-fp32'), ('train step, cached', 'sdpa-fp32'),
        ('train step, cached', 'sdpa-fp32'),
        ('train step, uncached', 'official-fp32'), ('train step, uncached', 'sdpa-fp32'),
        ('train step, uncached', 'sdpa-fp32'),
        ('inference', 'official-fp32'), ('inference', 'sdpa-fp32'), ('inference', 'sdpa-bf16')]
    assert [row['mode'] for row in rows[3:6]] == [
        'official-fp32, head modules', 'sdpa-fp32, head subpixel',
        'sdpa-fp32, head subpixel, bf16 autocast']  # what --amp does on the CPU
    assert rows[1]['max_abs_diff'] < 1e-5 and rows[2]['cosine'] > 0.999
    assert rows[0]['ratio'] == 1.0 and all(row['img_s'] > 0 for row in rows)
    assert rows[10]['mask_agreement'] == 1.0  # sdpa fp32: exact enough for equal masks
    assert '| encoder | sdpa-bf16 |' in output and 'CPU, ' in output and '64x96' in output
    assert len(json.loads((tmp_path / 'rows.json').read_text())) == len(rows)


def test_bad_arguments_are_clear_errors(tool):
    with pytest.raises(ValueError, match="mode 'sdpa-int8' is unknown"):
        parse_mode('sdpa-int8')
    assert parse_mode('sdpa-bf16+compile') == ('sdpa', 'bf16', True)
    with pytest.raises(SystemExit):
        tool.main(['--size', '64', '64', '64'])
