# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Tests of tools/dataset_converters/football.py on a tiny generated copy of the original layout."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'tools' / 'dataset_converters' / 'football.py'
H, W = 6, 8


def load_converter() -> ModuleType:
    """Import the converter script as a module (tools/ is not a package)."""
    name = 'football_converter_under_test'
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SCRIPT)
        module = importlib.util.module_from_spec(spec)
        # Registered before exec so that dataclasses can resolve the module's annotations.
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


conv = load_converter()


def index_mask(number: int) -> np.ndarray:
    """A different index mask per frame, using every class that has a colour.

    Returns:
        uint8, shape (H, W), values from the classes with a mask colour (6 never occurs).
    """
    table = conv.class_table()[0]
    present = [i for i, c in enumerate(table) if c.mask_rgb is not None]
    flat = np.array([present[(k + number) % len(present)] for k in range(H * W)], np.uint8)
    return flat.reshape(H, W)


def write_rgba(path: Path, index: np.ndarray, override: dict | None = None) -> None:
    """Write the RGBA colour mask of ``index`` (alpha 255), optionally with raw pixel colours.

    Args:
        path: Output PNG path.
        index: uint8 class indices, shape (H, W).
        override: ``{(y, x): (r, g, b)}`` pixels written with these colours instead.
    """
    table = conv.class_table()[0]
    rgba = np.zeros(index.shape + (4,), np.uint8)
    for i, cls in enumerate(table):
        if cls.mask_rgb is not None:
            rgba[index == i, :3] = cls.mask_rgb
    for (y, x), rgb in (override or {}).items():
        rgba[y, x, :3] = rgb
    rgba[..., 3] = 255
    assert cv2.imwrite(str(path), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))


def make_raw(root: Path, train=range(11, 17), test=range(1, 3)) -> Path:
    """Build the original layout with tiny frames; returns ``root``."""
    for split, numbers in (('Train', train), ('Test', test)):
        (root / f'original{split}').mkdir(parents=True)
        (root / f'segmentation{split}').mkdir(parents=True)
        for n in numbers:
            name = f'Frame 1  ({n}).jpg'
            image = np.full((H, W, 3), n, np.uint8)
            assert cv2.imwrite(str(root / f'original{split}' / name), image)
            write_rgba(root / f'segmentation{split}' / f'{name}___fuse.png', index_mask(n))
    return root


def read(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_exact_index_and_binary_values(tmp_path):
    raw = make_raw(tmp_path / 'raw')
    out = tmp_path / 'out'
    assert conv.main([str(raw), '--out-dir', str(out)]) == 0
    for root in ('football', 'football_adboard'):
        assert sorted(os.listdir(out / root / 'img_dir')) == ['test', 'train']
    assert sorted(os.listdir(out / 'football' / 'ann_dir' / 'train')) == [
        f'frame_{n:04d}.png' for n in range(11, 17)]
    for split, numbers in (('train', range(11, 17)), ('test', range(1, 3))):
        for n in numbers:
            stem = f'frame_{n:04d}'
            index = read(out / 'football' / 'ann_dir' / split / f'{stem}.png')
            binary = read(out / 'football_adboard' / 'ann_dir' / split / f'{stem}.png')
            assert index.dtype == np.uint8 and index.shape == (H, W)
            np.testing.assert_array_equal(index, index_mask(n))
            np.testing.assert_array_equal(binary, (index_mask(n) == 3).astype(np.uint8))
            # Images are the original bytes, shared between the two roots.
            src = raw / f'original{split.capitalize()}' / f'Frame 1  ({n}).jpg'
            for root in ('football', 'football_adboard'):
                assert (out / root / 'img_dir' / split / f'{stem}.jpg').read_bytes() == \
                    src.read_bytes()
    # Every mask holds all 11 colours, so the near-identical pairs (Team A vs Goalkeeper A,
    # Team B vs Goalkeeper B: 1-3 apart per channel) were told apart above.
    assert len(np.unique(index_mask(11))) == 11
    assert not list(out.glob('.football-convert-*')), 'staging folder left behind'


def test_unknown_colour_names_file_colour_and_count(tmp_path):
    raw = make_raw(tmp_path / 'raw')
    bad = raw / 'segmentationTrain' / 'Frame 1  (13).jpg___fuse.png'
    # (255, 234, 0) is one off Goalkeeper A (255, 235, 0): must not be matched to it.
    write_rgba(bad, index_mask(13), {(0, 0): (255, 234, 0), (1, 1): (255, 234, 0),
                                     (2, 2): (9, 9, 9)})
    out = tmp_path / 'out'
    with pytest.raises(conv.ConversionError) as err:
        conv.convert_football(raw, out)
    msg = str(err.value)
    assert 'Frame 1  (13).jpg___fuse.png' in msg
    assert 'RGB (255, 234, 0) at 2 pixels' in msg
    assert 'RGB (9, 9, 9) at 1 pixels' in msg
    # Nothing published, no staging left, input untouched.
    assert not out.exists() or not any(out.iterdir())
    assert bad.exists()


def test_val_split_is_seeded_and_disjoint(tmp_path):
    raw = make_raw(tmp_path / 'raw')
    stats_a = conv.convert_football(raw, tmp_path / 'a', val_from_train=2, seed=3)
    stats_b = conv.convert_football(raw, tmp_path / 'b', val_from_train=2, seed=3)
    assert {k: len(v.frames) for k, v in stats_a.items()} == {'train': 4, 'val': 2, 'test': 2}
    assert stats_a['val'].frames == stats_b['val'].frames
    assert set(stats_a['val'].frames).isdisjoint(stats_a['train'].frames)
    assert set(stats_a['val'].frames) | set(stats_a['train'].frames) == {
        f'frame_{n:04d}' for n in range(11, 17)}
    for root in ('football', 'football_adboard'):
        val = sorted(p.stem for p in (tmp_path / 'a' / root / 'ann_dir' / 'val').iterdir())
        assert val == sorted(stats_a['val'].frames)
    # The frames SeededSubsetDataset holds out with the same count and seed.
    from mmseg_sam.datasets.seeded_split import seeded_order
    frames = [f'frame_{n:04d}' for n in range(11, 17)]
    assert sorted(stats_a['val'].frames) == sorted(frames[i] for i in seeded_order(6, 3)[:2])
    with pytest.raises(conv.ConversionError, match='between 1 and 5'):
        conv.convert_football(raw, tmp_path / 'c', val_from_train=6)


def test_pairing_and_size_errors_list_files(tmp_path):
    raw = make_raw(tmp_path / 'raw')
    (raw / 'segmentationTrain' / 'Frame 1  (11).jpg___fuse.png').unlink()
    (raw / 'originalTest' / 'Frame 1  (2).jpg').unlink()
    with pytest.raises(conv.ConversionError) as err:
        conv.convert_football(raw, tmp_path / 'out')
    assert "images without a mask" in str(err.value) and 'Frame 1  (11).jpg' in str(err.value)
    assert "masks without an image" in str(err.value)
    assert 'Frame 1  (2).jpg___fuse.png' in str(err.value)

    raw2 = make_raw(tmp_path / 'raw2')
    cv2.imwrite(str(raw2 / 'originalTest' / 'Frame 1  (1).jpg'), np.zeros((H + 1, W, 3)))
    with pytest.raises(conv.ConversionError, match=r'size mismatch.*Frame 1  \(1\)\.jpg'):
        conv.convert_football(raw2, tmp_path / 'out2')


def test_refuses_non_empty_out_dir_unless_overwrite(tmp_path):
    raw = make_raw(tmp_path / 'raw')
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'keep.txt').write_text('mine')
    with pytest.raises(conv.ConversionError, match='not empty'):
        conv.convert_football(raw, out)
    conv.convert_football(raw, out, val_from_train=1, overwrite=True)
    conv.convert_football(raw, out, overwrite=True)
    assert (out / 'keep.txt').read_text() == 'mine'
    # The second run replaced the roots: no stale val split.
    assert sorted(os.listdir(out / 'football' / 'ann_dir')) == ['test', 'train']
    with pytest.raises(conv.ConversionError, match='inside the input'):
        conv.convert_football(raw, raw / 'converted')


def test_help_runs_as_script():
    result = subprocess.run([sys.executable, str(SCRIPT), '--help'], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert '--val-from-train' in result.stdout and '--overwrite' in result.stdout
