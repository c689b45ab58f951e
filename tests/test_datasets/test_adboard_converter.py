# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Tests of tools/dataset_converters/adboard.py on a fake Kaggle-named tree (folder and zip)."""
from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'tools' / 'dataset_converters' / 'adboard.py'
H, W = 6, 8
POOL = list(range(100, 3100, 100))  # 30 frames < 4000
TEST = [4001, 4100, 4200, 5000, 6123]  # 5 frames > 4000


def load_converter() -> ModuleType:
    """Import the converter script as a module (tools/ is not a package)."""
    name = 'adboard_converter_under_test'
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SCRIPT)
        module = importlib.util.module_from_spec(spec)
        # Registered before exec so that dataclasses can resolve the module's annotations.
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


conv = load_converter()


def board(n: int) -> np.ndarray:
    """0/255 mask of frame ``n``, shape (H, W): the first n % W columns are board."""
    mask = np.zeros((H, W), np.uint8)
    mask[:, :n % W] = 255
    return mask


def make_kaggle(root: Path) -> Path:
    """Fake download: 30 pool frames, frame 4000 and 5 test frames in two sub-folders."""
    img_root = root / 'Tagged_Images' / 'Tagged Images'
    mask_dir = root / 'Masks' / 'Masks'
    mask_dir.mkdir(parents=True)
    for n in POOL + [4000] + TEST:
        sub = img_root / ('match_a' if n < 2000 else 'match_b')
        sub.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(sub / f'frame_{n}.jpg'), np.full((H, W, 3), n % 256, np.uint8))
        assert cv2.imwrite(str(mask_dir / f'mask_{n}.png'), board(n))
    (root / 'README.txt').write_text('not data')
    return root


def zip_tree(root: Path, zip_path: Path, prefix: str = 'download/') -> Path:
    """Zip ``root`` with every member under ``prefix`` (as some downloads nest one folder)."""
    with zipfile.ZipFile(zip_path, 'w') as zf:
        for path in sorted(root.rglob('*')):
            if path.is_file():
                zf.write(path, prefix + path.relative_to(root).as_posix())
    return zip_path


def listing(out: Path, split: str) -> list[str]:
    return sorted(p.stem for p in (out / 'img_dir' / split).iterdir())


def test_folder_split_counts_values_and_log(tmp_path, caplog):
    src = make_kaggle(tmp_path / 'kaggle')
    out = tmp_path / 'out'
    with caplog.at_level(logging.INFO, logger='adboard_converter'):
        assert conv.main([str(src), '--out-dir', str(out)]) == 0
    counts = {s: len(listing(out, s)) for s in ('train', 'val', 'test')}
    # round(0.1 * 30) = 3 train, the other 27 of the pool val, frames > 4000 test.
    assert counts == {'train': 3, 'val': 27, 'test': 5}
    assert listing(out, 'test') == sorted(f'frame_{n}' for n in TEST)
    pool = set(listing(out, 'train')) | set(listing(out, 'val'))
    assert pool == {f'frame_{n}' for n in POOL}
    assert 'frame_4000' in caplog.text and 'excluded' in caplog.text
    for split in ('train', 'val', 'test'):
        for stem in listing(out, split):
            n = int(stem.split('_')[1])
            mask = cv2.imread(str(out / 'ann_dir' / split / f'{stem}.png'), cv2.IMREAD_UNCHANGED)
            np.testing.assert_array_equal(mask, board(n) // 255)
    image = src / 'Tagged_Images' / 'Tagged Images' / 'match_b' / 'frame_4001.jpg'
    assert (out / 'img_dir' / 'test' / 'frame_4001.jpg').read_bytes() == image.read_bytes()


def test_zip_gives_same_split_and_seed_changes_it(tmp_path):
    src = make_kaggle(tmp_path / 'kaggle')
    archive = zip_tree(src, tmp_path / 'football-match-adboards-mask-dataset.zip')
    assert conv.convert_adboard(src, tmp_path / 'a', seed=0) == {
        'train': 3, 'val': 27, 'test': 5}
    assert conv.convert_adboard(archive, tmp_path / 'b', seed=0)['train'] == 3
    for split in ('train', 'val', 'test'):
        assert listing(tmp_path / 'a', split) == listing(tmp_path / 'b', split)
        for stem in listing(tmp_path / 'a', split):
            mask = Path('ann_dir') / split / f'{stem}.png'
            assert (tmp_path / 'a' / mask).read_bytes() == (tmp_path / 'b' / mask).read_bytes()
    conv.convert_adboard(archive, tmp_path / 'c', seed=1, train_fraction=0.5)
    assert len(listing(tmp_path / 'c', 'train')) == 15


def test_real_set_counts_without_files():
    """1346 pool frames at 0.1 give 135 train / 1211 val, as in the reference."""
    assert conv.num_train(1346, 0.1) == 135
    samples = [conv.Sample(f'frame_{n}.jpg', f'mask_{n}.png', n)
               for n in list(range(1, 1347)) + [4000] + list(range(4001, 4275))]
    splits = conv.split_samples(samples, 0.1, 0)
    assert {k: len(v) for k, v in splits.items()} == {'train': 135, 'val': 1211, 'test': 274}
    # Deterministic: the same seed gives the same membership.
    again = conv.split_samples(samples, 0.1, 0)
    assert [s.frame for s in again['train']] == [s.frame for s in splits['train']]


def test_orphans_reported_by_name(tmp_path):
    src = make_kaggle(tmp_path / 'kaggle')
    (src / 'Masks' / 'Masks' / 'mask_300.png').unlink()
    (src / 'Tagged_Images' / 'Tagged Images' / 'match_b' / 'frame_4100.jpg').unlink()
    with pytest.raises(conv.ConversionError) as err:
        conv.convert_adboard(src, tmp_path / 'out')
    msg = str(err.value)
    assert 'image(s) without mask' in msg and 'frame_300.jpg' in msg
    assert 'mask(s) without image' in msg and 'mask_4100.png' in msg
    assert not (tmp_path / 'out').exists()
    # --skip-unpaired leaves both out instead.
    counts = conv.convert_adboard(src, tmp_path / 'out2', skip_unpaired=True)
    assert counts['test'] == 4 and counts['train'] + counts['val'] == 29


def test_bad_mask_values_reported_and_nothing_published(tmp_path):
    src = make_kaggle(tmp_path / 'kaggle')
    bad = board(500)
    bad[0, 0], bad[1, 1] = 128, 1
    cv2.imwrite(str(src / 'Masks' / 'Masks' / 'mask_500.png'), bad)
    out = tmp_path / 'out'
    with pytest.raises(conv.ConversionError) as err:
        conv.convert_adboard(src, out)
    assert 'mask_500.png' in str(err.value)
    assert '1 (1 px), 128 (1 px)' in str(err.value)
    assert not any(out.iterdir())  # staging removed, nothing published


def test_refuses_non_empty_out_dir(tmp_path):
    src = make_kaggle(tmp_path / 'kaggle')
    out = tmp_path / 'out'
    conv.convert_adboard(src, out)
    assert conv.main([str(src), '--out-dir', str(out)]) == 1
    assert conv.main([str(src), '--out-dir', str(out), '--overwrite']) == 0
    assert conv.main([str(src), '--out-dir', str(src / 'out')]) == 1


def test_help_runs_as_script():
    result = subprocess.run([sys.executable, str(SCRIPT), '--help'], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert '--train-fraction' in result.stdout and '--skip-unpaired' in result.stdout
