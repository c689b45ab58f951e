# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""tools/analysis/mask_agreement.py: counts, the gate, and clear errors for unequal folders."""
import cv2
import numpy as np
import pytest
from helpers import load_script


@pytest.fixture(scope='module')
def tool(repo_root):
    return load_script(repo_root / 'tools' / 'analysis' / 'mask_agreement.py')


def write_masks(folder, masks):
    folder.mkdir()
    for name, mask in masks.items():
        cv2.imwrite(str(folder / name), mask)


def test_counts_differing_pixels_per_image_and_over_all(tool, tmp_path, capsys):
    a = np.zeros((4, 5), np.uint8)
    b = a.copy()
    b[0, :3] = 1  # 3 of 20 pixels differ
    write_masks(tmp_path / 'fp32', {'x.png': a, 'y.png': a})
    write_masks(tmp_path / 'bf16', {'x.png': b, 'y.png': a})
    rows = tool.main([str(tmp_path / 'fp32'), str(tmp_path / 'bf16')])
    assert [(r['name'], r['equal'], r['pixels']) for r in rows] == [
        ('x.png', 17, 20), ('y.png', 20, 20), ('all', 37, 40)]
    assert '| all | 40 | 3 | 92.500 |' in capsys.readouterr().out
    with pytest.raises(SystemExit) as failed:
        tool.main([str(tmp_path / 'fp32'), str(tmp_path / 'bf16'), '--min-agreement', '93'])
    assert failed.value.code == 1
    tool.main([str(tmp_path / 'fp32'), str(tmp_path / 'bf16'), '--min-agreement', '92'])


def test_unequal_folders_are_clear_errors(tool, tmp_path):
    write_masks(tmp_path / 'a', {'x.png': np.zeros((4, 4), np.uint8)})
    write_masks(tmp_path / 'b', {'z.png': np.zeros((4, 4), np.uint8)})
    write_masks(tmp_path / 'c', {'x.png': np.zeros((4, 6), np.uint8)})
    with pytest.raises(SystemExit, match=r"only in .*a: \['x.png'\]; only in .*b: \['z.png'\]"):
        tool.main([str(tmp_path / 'a'), str(tmp_path / 'b')])
    with pytest.raises(SystemExit, match=r'x.png is \(4, 4\) in .* but \(4, 6\)'):
        tool.main([str(tmp_path / 'a'), str(tmp_path / 'c')])
    with pytest.raises(SystemExit, match='is not a folder'):
        tool.main([str(tmp_path / 'a'), str(tmp_path / 'missing')])
