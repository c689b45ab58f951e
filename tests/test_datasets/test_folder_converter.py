# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Tests of tools/dataset_converters/folder.py on tiny image/mask folders."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Dict

import cv2
import numpy as np
import pytest
from helpers import load_script
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

from mmseg_sam.datasets.folder import META_FILE, FolderSegDataset
from mmseg_sam.datasets.seeded_split import seeded_order

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'tools' / 'dataset_converters' / 'folder.py'
H, W = 23, 37  # odd sizes, so that a swapped width/height shows
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]


conv = load_script(SCRIPT)


def stripes(i: int, high: int = 1) -> np.ndarray:
    """Binary mask number ``i``, shape (H, W): the first 3 * i + 1 columns are ``high``."""
    mask = np.zeros((H, W), np.uint8)
    mask[:, :3 * i + 1] = high
    return mask


def make_folders(root: Path, masks: Dict[str, np.ndarray], image_suffix: str = '.jpg',
                 mask_suffix: str = '.png') -> tuple[Path, Path]:
    """``root/images/<stem><image_suffix>`` (grey level from the stem) and
    ``root/masks/<stem><mask_suffix>``; colour masks are given as RGB."""
    images, mask_dir = root / 'images', root / 'masks'
    images.mkdir(parents=True, exist_ok=True)
    mask_dir.mkdir(parents=True, exist_ok=True)
    for k, (stem, mask) in enumerate(masks.items()):
        h, w = mask.shape[:2]
        assert cv2.imwrite(str(images / f'{stem}{image_suffix}'),
                           np.full((h, w, 3), 10 * k, np.uint8))
        if mask.ndim == 3:
            mask = cv2.cvtColor(mask, cv2.COLOR_RGB2BGR)
        assert cv2.imwrite(str(mask_dir / f'{stem}{mask_suffix}'), mask)
    return images, mask_dir


def read_meta(out: Path) -> dict:
    return json.loads((out / META_FILE).read_text())


def ann(out: Path, split: str, stem: str) -> np.ndarray:
    return cv2.imread(str(out / 'ann_dir' / split / f'{stem}.png'), cv2.IMREAD_UNCHANGED)


def stems(out: Path, split: str, kind: str = 'img_dir') -> list[str]:
    folder = out / kind / split
    return sorted(p.stem for p in folder.iterdir()) if folder.is_dir() else []


def snapshot(folder: Path) -> Dict[str, bytes]:
    """Every file under ``folder`` with its bytes (to show that nothing changed)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob('*')) if p.is_file()}


@pytest.mark.parametrize('highs, mask_format', [
    ([255] * 5, 'binary 0/255'),
    ([1] * 5, 'binary 0/1'),
    ([1, 255, 1, 255, 255], 'binary mixed 0/1 and 0/255'),
])
def test_binary_masks_become_0_1_with_meta(tmp_path, caplog, highs, mask_format):
    masks = {f'img_{i}': stripes(i, high) for i, high in enumerate(highs)}
    masks['empty'] = np.zeros((H, W), np.uint8)  # only background: fine in either scale
    images, mask_dir = make_folders(tmp_path, masks)
    out = tmp_path / 'out'
    with caplog.at_level(logging.INFO, logger='folder_converter'):
        summary = conv.convert_folder(images, mask_dir, out)
    assert summary.counts == {'train': 5, 'test': 1}  # round(0.2 * 6) = 1
    assert summary.classes == ['background', 'foreground']
    assert ('mixed binary masks' in caplog.text) == ('mixed' in mask_format)
    meta = read_meta(out)
    assert meta['mask_format'] == summary.mask_format == mask_format
    assert meta['classes'] == ['background', 'foreground']
    assert meta['palette'] == [[0, 0, 0], [255, 0, 0]]
    assert (meta['img_suffix'], meta['seg_map_suffix']) == ('.jpg', '.png')
    assert meta['counts'] == {'train': 5, 'test': 1}
    assert (meta['seed'], meta['test_fraction']) == (0, 0.2)
    fg = 0
    for split in ('train', 'test'):
        assert stems(out, split) == stems(out, split, 'ann_dir')
        for stem in stems(out, split):
            mask = ann(out, split, stem)
            expected = (masks[stem] > 0).astype(np.uint8)
            np.testing.assert_array_equal(mask, expected)
            fg += int(expected.sum()) if split == 'train' else 0
            image = (images / f'{stem}.jpg').read_bytes()
            assert (out / 'img_dir' / split / f'{stem}.jpg').read_bytes() == image
    assert meta['class_pixel_fraction']['foreground'] == pytest.approx(fg / (5 * H * W),
                                                                       abs=1e-6)
    assert sum(meta['class_pixel_fraction'].values()) == pytest.approx(1.0, abs=1e-5)
    assert 'configs/folder/' in summary.train_command and '-binary-' in summary.train_command
    assert summary.train_command.startswith(f'FOLDER_DATA_ROOT={out} ')


def test_binary_grey_rgb_masks_and_class_names(tmp_path):
    rgb = np.repeat(stripes(2, 255)[..., None], 3, axis=2)  # grey saved as RGB
    images, mask_dir = make_folders(tmp_path, {'a': rgb, 'b': stripes(1, 255)})
    out = tmp_path / 'out'
    summary = conv.convert_folder(images, mask_dir, out, classes=['bg', 'adboard'],
                                  test_fraction=0)
    assert summary.classes == read_meta(out)['classes'] == ['bg', 'adboard']
    np.testing.assert_array_equal(ann(out, 'train', 'a'), stripes(2))
    with pytest.raises(conv.ConversionError, match='exactly 2'):
        conv.convert_folder(images, mask_dir, tmp_path / 'x', classes=['a', 'b', 'c'])


def test_bad_binary_values_name_file_and_publish_nothing(tmp_path):
    masks = {f'img_{i}': stripes(i, 255) for i in range(4)}
    images, mask_dir = make_folders(tmp_path, masks)
    out = tmp_path / 'out'
    conv.convert_folder(images, mask_dir, out)
    before = snapshot(out)
    bad = stripes(3, 255)
    bad[0, :5] = 128  # an anti-aliased edge
    bad[1, 0] = 1
    cv2.imwrite(str(mask_dir / 'img_2.png'), bad)
    with pytest.raises(conv.ConversionError) as err:
        conv.convert_folder(images, mask_dir, out, overwrite=True)
    msg = str(err.value)
    assert 'img_2.png' in msg and 'nothing was written' in msg
    assert '1 (1 px), 128 (5 px), 255 (' in msg
    assert '--mode index' in msg and 'anti-aliased' in msg
    assert 'img_1.png' not in msg
    assert snapshot(out) == before  # old conversion untouched, staging removed
    fresh = tmp_path / 'fresh'
    assert conv.main([str(images), str(mask_dir), '--out-dir', str(fresh)]) == 1
    assert list(fresh.iterdir()) == []


def test_unpaired_files_warned_and_left_out_strict_errors(tmp_path, caplog):
    images, mask_dir = make_folders(tmp_path, {f'img_{i}': stripes(i) for i in range(4)})
    cv2.imwrite(str(images / 'lonely.png'), np.zeros((H, W, 3), np.uint8))
    cv2.imwrite(str(mask_dir / 'orphan.png'), stripes(0))
    (mask_dir / 'notes.txt').write_text('not a mask')
    (mask_dir / 'sub').mkdir()
    out = tmp_path / 'out'
    with caplog.at_level(logging.INFO, logger='folder_converter'):
        summary = conv.convert_folder(images, mask_dir, out)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any('lonely.png' in w and 'without a mask' in w for w in warnings)
    assert any('orphan.png' in w and 'without an image' in w for w in warnings)
    assert 'notes.txt' in caplog.text and 'ignored' in caplog.text
    assert sum(summary.counts.values()) == 4
    assert 'lonely' not in stems(out, 'train') + stems(out, 'test')
    with pytest.raises(conv.ConversionError) as err:
        conv.convert_folder(images, mask_dir, tmp_path / 'strict', strict_pairs=True)
    assert 'lonely.png' in str(err.value) and 'orphan.png' in str(err.value)
    assert not (tmp_path / 'strict').exists()


def test_size_mismatch_names_both_files(tmp_path):
    images, mask_dir = make_folders(tmp_path, {f'img_{i}': stripes(i) for i in range(3)})
    cv2.imwrite(str(mask_dir / 'img_1.png'), np.zeros((H, W + 1), np.uint8))
    cv2.imwrite(str(mask_dir / 'img_2.png'), np.zeros((W, H), np.uint8))  # transposed
    with pytest.raises(conv.ConversionError) as err:
        conv.convert_folder(images, mask_dir, tmp_path / 'out')
    msg = str(err.value)
    assert '2 frame(s) failed' in msg
    assert str(images / 'img_1.jpg') in msg and str(mask_dir / 'img_1.png') in msg
    assert f'{W}x{H}' in msg and f'{W + 1}x{H}' in msg
    assert 'EXIF' in msg  # the hint for img_2 with swapped width and height


def test_unreadable_images_all_listed(tmp_path):
    images, mask_dir = make_folders(tmp_path, {f'img_{i}': stripes(i) for i in range(4)})
    (images / 'img_1.jpg').write_bytes(b'')
    (images / 'img_3.jpg').write_text('this is not a JPEG')
    out = tmp_path / 'out'
    with pytest.raises(conv.ConversionError) as err:
        conv.convert_folder(images, mask_dir, out)
    msg = str(err.value)
    assert '2 frame(s) failed' in msg
    assert 'img_1.jpg: empty file' in msg
    assert 'img_3.jpg: cannot be decoded' in msg
    assert list(out.iterdir()) == []


def test_duplicate_stems_and_jpeg_masks_are_errors(tmp_path):
    images, mask_dir = make_folders(tmp_path, {'a': stripes(0), 'b': stripes(1)})
    cv2.imwrite(str(images / 'a.png'), np.zeros((H, W, 3), np.uint8))
    with pytest.raises(conv.ConversionError) as err:
        conv.convert_folder(images, mask_dir, tmp_path / 'out')
    assert "'a.jpg' and 'a.png'" in str(err.value) and 'same stem' in str(err.value)
    (images / 'a.png').unlink()
    cv2.imwrite(str(mask_dir / 'c.jpg'), stripes(2, 255))
    with pytest.raises(conv.ConversionError) as err:
        conv.convert_folder(images, mask_dir, tmp_path / 'out')
    assert 'c.jpg' in str(err.value) and 'lossy' in str(err.value)
    assert not (tmp_path / 'out').exists()


def test_no_pairs_is_an_error(tmp_path):
    images, mask_dir = make_folders(tmp_path, {'a': stripes(0)})
    (mask_dir / 'a.png').rename(mask_dir / 'other.png')
    with pytest.raises(conv.ConversionError, match='no image/mask pairs'):
        conv.convert_folder(images, mask_dir, tmp_path / 'out')


def index_masks(n: int = 5) -> Dict[str, np.ndarray]:
    """Index masks with values 0..3 and some 255 (ignore)."""
    masks = {}
    for i in range(n):
        mask = (np.arange(H * W).reshape(H, W) // 7 + i) % 4
        mask[0, :3] = 255
        masks[f'f{i}'] = mask.astype(np.uint8)
    return masks


def test_index_mode_with_and_without_classes(tmp_path):
    masks = index_masks()
    images, mask_dir = make_folders(tmp_path, masks)
    out = tmp_path / 'auto'
    summary = conv.convert_folder(images, mask_dir, out, mode='index')
    meta = read_meta(out)
    assert summary.classes == meta['classes'] == ['class_0', 'class_1', 'class_2', 'class_3']
    assert meta['mask_format'] == 'index'
    assert len(meta['palette']) == 4 and len({tuple(c) for c in meta['palette']}) == 4
    assert meta['palette'][0] == [0, 0, 0]
    for split in ('train', 'test'):
        for stem in stems(out, split):
            np.testing.assert_array_equal(ann(out, split, stem), masks[stem])  # 255 kept
    assert '--cfg-options model.decode_head.num_classes=4 model.decode_head.out_channels=4' \
        in summary.train_command and '-multiclass-' in summary.train_command

    named = conv.convert_folder(images, mask_dir, tmp_path / 'named', mode='index',
                                classes=['bg', 'road', 'car', 'sky', 'tree'])
    assert named.classes == ['bg', 'road', 'car', 'sky', 'tree']
    assert read_meta(tmp_path / 'named')['class_pixel_fraction']['tree'] == 0.0
    assert conv.index_palette(5) == read_meta(tmp_path / 'named')['palette']

    with pytest.raises(conv.ConversionError) as err:
        conv.convert_folder(images, mask_dir, tmp_path / 'few', mode='index',
                            classes=['bg', 'road', 'car'])
    msg = str(err.value)
    assert 'f0.png' in msg and 'values 3 (' in msg and '0..2' in msg
    assert '255 (' not in msg  # 255 = ignore is not reported as out of range


def test_index_mode_refuses_colour_masks_and_single_value(tmp_path):
    colour = np.zeros((H, W, 3), np.uint8)
    colour[:, :5] = (200, 10, 10)
    images, mask_dir = make_folders(tmp_path, {'a': colour, 'b': stripes(0, 0)})
    with pytest.raises(conv.ConversionError, match='--mode colour'):
        conv.convert_folder(images, mask_dir, tmp_path / 'out', mode='index', test_fraction=0)
    images, mask_dir = make_folders(tmp_path / 'b', {'a': stripes(1, 255), 'b': stripes(0, 0)})
    with pytest.raises(conv.ConversionError, match='use --mode binary'):
        conv.convert_folder(images, mask_dir, tmp_path / 'out2', mode='index', test_fraction=0)


TABLE = {'background': [0, 0, 0], 'road': [128, 64, 128], 'car': [0, 0, 142]}


def colour_masks(n: int = 4) -> Dict[str, np.ndarray]:
    """RGB masks painted from an index pattern with TABLE's colours."""
    colours = np.array(list(TABLE.values()), np.uint8)
    return {f'c{i}': colours[(np.arange(H * W).reshape(H, W) // 5 + i) % 3] for i in range(n)}


def expected_index(rgb: np.ndarray, colours) -> np.ndarray:
    out = np.full(rgb.shape[:2], 99, np.uint8)
    for i, c in enumerate(colours):
        out[(rgb == np.array(c, np.uint8)).all(axis=2)] = i
    return out


def test_colour_mode_with_table(tmp_path):
    masks = colour_masks()
    images, mask_dir = make_folders(tmp_path, masks)
    table = tmp_path / 'colours.json'
    table.write_text(json.dumps(TABLE))
    out = tmp_path / 'out'
    summary = conv.convert_folder(images, mask_dir, out, mode='colour', colour_table=table)
    meta = read_meta(out)
    assert summary.classes == meta['classes'] == list(TABLE)
    assert meta['palette'] == list(TABLE.values())
    assert meta['mask_format'] == 'colour'
    for split in ('train', 'test'):
        for stem in stems(out, split):
            np.testing.assert_array_equal(ann(out, split, stem),
                                          expected_index(masks[stem], TABLE.values()))

    bad = masks['c1'].copy()
    bad[2, 2] = (1, 2, 3)  # RGB; the file holds BGR
    cv2.imwrite(str(mask_dir / 'c1.png'), cv2.cvtColor(bad, cv2.COLOR_RGB2BGR))
    with pytest.raises(conv.ConversionError) as err:
        conv.convert_folder(images, mask_dir, tmp_path / 'bad', mode='colour',
                            colour_table=table)
    assert 'c1.png' in str(err.value) and 'RGB [1, 2, 3] (1 px)' in str(err.value)
    assert str(table) in str(err.value)


def test_colour_mode_discovers_and_logs_table(tmp_path, caplog):
    masks = colour_masks()
    images, mask_dir = make_folders(tmp_path, masks)
    out = tmp_path / 'out'
    with caplog.at_level(logging.INFO, logger='folder_converter'):
        summary = conv.convert_folder(images, mask_dir, out, mode='colour')
    # Black first, then sorted by (R, G, B): (0, 0, 142) before (128, 64, 128).
    colours = [[0, 0, 0], [0, 0, 142], [128, 64, 128]]
    assert summary.classes == ['class_0', 'class_1', 'class_2']
    assert read_meta(out)['palette'] == colours
    logged = caplog.text[caplog.text.index('{'):caplog.text.index('}') + 1]
    assert json.loads(logged) == dict(zip(summary.classes, colours))
    stem = stems(out, 'train')[0]
    np.testing.assert_array_equal(ann(out, 'train', stem), expected_index(masks[stem], colours))
    # The logged table, saved and renamed, gives the same masks with the new names.
    table = tmp_path / 'saved.json'
    table.write_text(logged.replace('class_1', 'car'))
    again = conv.convert_folder(images, mask_dir, tmp_path / 'again', mode='colour',
                                colour_table=table)
    assert again.classes == ['class_0', 'car', 'class_2']
    assert (tmp_path / 'again' / 'ann_dir' / 'train' / f'{stem}.png').read_bytes() == \
        (out / 'ann_dir' / 'train' / f'{stem}.png').read_bytes()
    named = conv.convert_folder(images, mask_dir, tmp_path / 'named', mode='colour',
                                classes=['bg', 'car', 'road'])
    assert named.classes == ['bg', 'car', 'road']
    with pytest.raises(conv.ConversionError, match='2 names but the masks hold 3 colours'):
        conv.convert_folder(images, mask_dir, tmp_path / 'x', mode='colour', classes=['a', 'b'])


def test_split_is_seeded_order_over_sorted_stems():
    pairs = [conv.Pair(f's{i:02d}', Path(f's{i:02d}.jpg'), Path(f's{i:02d}.png'))
             for i in range(20)]
    split = conv.split_pairs(pairs, 0.2, seed=3)
    expected = sorted(pairs[i].stem for i in seeded_order(20, 3)[:4])
    assert [p.stem for p in split['test']] == expected
    assert len(split['train']) == 16
    again = conv.split_pairs(pairs, 0.2, seed=3)
    assert [p.stem for p in again['test']] == expected
    other = conv.split_pairs(pairs, 0.2, seed=4)
    assert [p.stem for p in other['test']] != expected
    assert len(conv.split_pairs(pairs, 0.01, seed=0)['test']) == 1  # at least 1
    assert conv.split_pairs(pairs, 0, seed=0)['test'] == []
    with pytest.raises(conv.ConversionError, match='train is empty'):
        conv.split_pairs(pairs[:1], 0.2)


def test_split_files_and_test_list(tmp_path, caplog):
    masks = {f'img_{i}': stripes(i % 9) for i in range(10)}
    images, mask_dir = make_folders(tmp_path, masks)
    conv.convert_folder(images, mask_dir, tmp_path / 'a', seed=5)
    conv.convert_folder(images, mask_dir, tmp_path / 'b', seed=5)
    assert stems(tmp_path / 'a', 'test') == stems(tmp_path / 'b', 'test')
    assert len(stems(tmp_path / 'a', 'test')) == 2

    listing = tmp_path / 'test.txt'
    listing.write_text('# held-out frames\nimg_3\n\n  img_7  \nimg_3\n')
    summary = conv.convert_folder(images, mask_dir, tmp_path / 'c', test_list=listing)
    assert stems(tmp_path / 'c', 'test') == ['img_3', 'img_7']
    assert summary.counts == {'train': 8, 'test': 2}
    meta = read_meta(tmp_path / 'c')
    assert meta['test_list'] == str(listing) and 'test_fraction' not in meta

    listing.write_text('img_3\nimg_99\n')
    with pytest.raises(conv.ConversionError, match='img_99'):
        conv.convert_folder(images, mask_dir, tmp_path / 'd', test_list=listing)
    with pytest.raises(conv.ConversionError, match='give only one'):
        conv.convert_folder(images, mask_dir, tmp_path / 'd', test_list=listing,
                            test_fraction=0.3)
    with caplog.at_level(logging.WARNING, logger='folder_converter'):
        summary = conv.convert_folder(images, mask_dir, tmp_path / 'e', test_fraction=0)
    assert summary.counts == {'train': 10, 'test': 0}
    assert not (tmp_path / 'e' / 'img_dir' / 'test').exists()
    assert 'no test split' in caplog.text


def test_mixed_image_suffixes_are_written_as_png(tmp_path):
    images, mask_dir = make_folders(tmp_path, {'a': stripes(0), 'b': stripes(1)},
                                    image_suffix='.jpg')
    rgb = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)
    cv2.imwrite(str(images / 'c.bmp'), rgb)
    cv2.imwrite(str(mask_dir / 'c.png'), stripes(2))
    out = tmp_path / 'out'
    conv.convert_folder(images, mask_dir, out, test_fraction=0)
    assert read_meta(out)['img_suffix'] == '.png'
    assert sorted(p.name for p in (out / 'img_dir' / 'train').iterdir()) == \
        ['a.png', 'b.png', 'c.png']
    np.testing.assert_array_equal(cv2.imread(str(out / 'img_dir' / 'train' / 'c.png')), rgb)
    np.testing.assert_array_equal(cv2.imread(str(out / 'img_dir' / 'train' / 'a.png')),
                                  cv2.imread(str(images / 'a.jpg')))

    # .JPEG and .jpg are one format: copied unchanged, as .jpg.
    images2, mask2 = make_folders(tmp_path / 'two', {'a': stripes(0)}, image_suffix='.JPEG')
    make_folders(tmp_path / 'two', {'b': stripes(1)}, image_suffix='.jpg')
    conv.convert_folder(images2, mask2, tmp_path / 'out2', test_fraction=0)
    assert read_meta(tmp_path / 'out2')['img_suffix'] == '.jpg'
    assert (tmp_path / 'out2' / 'img_dir' / 'train' / 'a.jpg').read_bytes() == \
        (images2 / 'a.JPEG').read_bytes()


def test_output_loads_through_folder_dataset(tmp_path):
    masks = index_masks(6)
    images, mask_dir = make_folders(tmp_path, masks)
    out = tmp_path / 'out'
    summary = conv.convert_folder(images, mask_dir, out, mode='index',
                                  classes=['bg', 'road', 'car', 'sky'], test_fraction=0.34)
    assert summary.counts == {'train': 4, 'test': 2}
    init_default_scope('mmseg')
    for split, n in summary.counts.items():
        dataset = DATASETS.build(dict(
            type='FolderSegDataset', data_root=str(out),
            data_prefix=dict(img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'),
            pipeline=PIPELINE))
        assert isinstance(dataset, FolderSegDataset)
        assert len(dataset) == n
        assert dataset.metainfo['classes'] == ('bg', 'road', 'car', 'sky')
        sample = dataset[0]
        stem = Path(sample['data_samples'].img_path).stem
        gt = sample['data_samples'].gt_sem_seg.data
        assert tuple(gt.shape) == (1, H, W)
        np.testing.assert_array_equal(gt[0].numpy(), masks[stem])


def test_main_exit_codes(tmp_path, caplog):
    images, mask_dir = make_folders(tmp_path, {f'img_{i}': stripes(i) for i in range(3)})
    out = tmp_path / 'out'
    args = [str(images), str(mask_dir), '--out-dir', str(out)]
    with caplog.at_level(logging.INFO, logger='folder_converter'):
        assert conv.main(args + ['--classes', 'bg', 'board', '--seed', '2']) == 0
    assert 'FOLDER_DATA_ROOT=' in caplog.text and 'tools/train.py' in caplog.text
    assert read_meta(out)['classes'] == ['bg', 'board']
    assert conv.main(args) == 1  # not empty
    assert conv.main(args + ['--overwrite', '--mode', 'index']) == 0
    assert read_meta(out)['mask_format'] == 'index'
    assert conv.main(args + ['--overwrite', '--test-fraction', '1.5']) == 1
    assert conv.main(args + ['--overwrite', '--colour-table', 'x.json']) == 1  # not colour mode
    assert conv.main([str(images), str(images), '--out-dir', str(tmp_path / 'o')]) == 1
    assert conv.main([str(images), str(mask_dir), '--out-dir', str(images / 'out')]) == 1
    with pytest.raises(SystemExit) as exc:
        conv.main(['--help'])
    assert exc.value.code == 0


def test_mask_suffix_pairs_masks_named_after_their_image(tmp_path):
    images, masks = make_folders(tmp_path, {'a': stripes(1, 255), 'b': stripes(2, 255)},
                                 mask_suffix='.jpg___fuse.png')
    with pytest.raises(conv.ConversionError, match='share no stem.*--mask-suffix _mask.png'):
        conv.convert_folder(images, masks, tmp_path / 'plain')
    out = tmp_path / 'out'
    summary = conv.convert_folder(images, masks, out, test_fraction=0.5,
                                  mask_suffix='.jpg___fuse.png')
    assert sum(summary.counts.values()) == 2
    assert ann(out, 'train', stems(out, 'train')[0]).max() == 1
    with pytest.raises(conv.ConversionError, match=r"--mask-suffix '_mask' must end with a mask "
                                                   r'file suffix'):
        conv.convert_folder(images, masks, tmp_path / 'bad', mask_suffix='_mask')
