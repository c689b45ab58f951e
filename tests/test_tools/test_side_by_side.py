# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
import cv2
import numpy as np
import pytest
from helpers import load_script

from mmseg_sam.analysis.side_by_side import CAPTION_HEIGHT, compose


@pytest.fixture(scope='module')
def tool(repo_root):
    return load_script(repo_root / 'tools/analysis/side_by_side.py')


def test_vertical_stack_scales_to_one_width_and_keeps_the_pixels(tool, tmp_path):
    red = np.zeros((20, 40, 3), np.uint8)
    red[..., 2] = 255
    blue = np.zeros((30, 80, 3), np.uint8)
    blue[..., 0] = 255
    paths = [tmp_path / 'a.png', tmp_path / 'b.png']
    for path, image in zip(paths, (red, blue)):
        cv2.imwrite(str(path), image)
    out = tmp_path / 'out' / 'both.png'
    tool.main([*map(str, paths), '--captions', 'seed head', 'detail head', '--out', str(out),
               '--vertical'])
    result = cv2.imread(str(out))
    caption = CAPTION_HEIGHT
    # Both 40 wide: 20 rows of red, 15 of blue (80x30 scaled to 40x15), each under a caption.
    assert result.shape == (caption + 20 + caption + 15, 40, 3)
    assert (result[caption:caption + 20] == red).all()
    assert (result[2 * caption + 20:] == blue[:15, :40]).all()  # one colour: same after scaling
    assert (result[:caption] < 255).any()  # the caption is drawn


def test_side_by_side_uses_one_height():
    images = [np.zeros((20, 40, 3), np.uint8), np.zeros((40, 40, 3), np.uint8)]
    result = compose(images, ['a', 'b'], vertical=False)
    assert result.shape == (CAPTION_HEIGHT + 20, 40 + 20, 3)


def test_bad_arguments_name_the_problem(tool, tmp_path, capsys):
    with pytest.raises(SystemExit):
        tool.main([str(tmp_path / 'a.png'), '--captions', 'a', 'b', '--out', 'x.png'])
    assert 'one caption per image' in capsys.readouterr().err
    (tmp_path / 'empty.png').write_bytes(b'')
    with pytest.raises(SystemExit, match='cannot read .*empty.png'):
        tool.main([str(tmp_path / 'empty.png'), '--captions', 'a', '--out',
                   str(tmp_path / 'x.png')])
