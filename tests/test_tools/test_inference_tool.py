# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""tools/inference.py on a tiny trained checkpoint: videos, single images, robust folders."""
from pathlib import Path
from typing import List

import cv2
import numpy as np
import pytest
from helpers import load_script, train_tiny_checkpoint

BASE = 'configs/sam_frozen/convtrans-ln_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py'
FRAMES, WIDTH, HEIGHT = 7, 72, 40  # odd size: resized to 64 x 64 and back


@pytest.fixture(scope='module')
def tool(repo_root):
    return load_script(repo_root / 'tools' / 'inference.py')


@pytest.fixture(scope='module')
def trained(repo_root, tmp_path_factory):
    """A 2-iteration checkpoint of the adboard config with a tiny random encoder."""
    tmp_path = tmp_path_factory.mktemp('inference_tool')
    config, checkpoint, data_root = train_tiny_checkpoint(repo_root, BASE, tmp_path)
    return dict(config=str(config), checkpoint=str(checkpoint),
                data_root=data_root, tmp_path=tmp_path)


def write_video(path: Path, fourcc: str = 'mp4v', frames: int = FRAMES, fps: float = 10.0):
    """A moving red box on grey noise, ``frames`` frames of WIDTH x HEIGHT."""
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (WIDTH, HEIGHT))
    assert writer.isOpened()
    for index in range(frames):
        frame = rng.integers(60, 120, (HEIGHT, WIDTH, 3), dtype=np.uint8)
        frame[10:25, 5 + 6 * index:25 + 6 * index] = (40, 40, 200)
        writer.write(frame)
    writer.release()
    return path


def read_video(path: Path) -> List[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), path
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def run(tool, trained, source, out_dir, *options):
    return tool.main([trained['config'], trained['checkpoint'], str(source), '--out-dir',
                      str(out_dir), *options])


@pytest.fixture
def count_trunk_rows(monkeypatch):
    """Rows of every batch the frozen trunk runs on, in call order."""
    from mmseg_sam.models.backbones.sam_frozen_backbone import SAMFrozenBackbone
    rows: List[int] = []
    original = SAMFrozenBackbone._run_trunk

    def counting(self, inputs):
        rows.append(int(inputs.shape[0]))
        return original(self, inputs)

    monkeypatch.setattr(SAMFrozenBackbone, '_run_trunk', counting)
    return rows


@pytest.mark.parametrize('suffix,fourcc', [('.mp4', 'mp4v'), ('.AVI', 'MJPG')])
def test_video_overlay_and_masks(tool, trained, tmp_path, count_trunk_rows, capsys, suffix,
                                 fourcc):
    video = write_video(tmp_path / f'clip{suffix}', fourcc)
    result = run(tool, trained, video, tmp_path / 'out', '--batch-size', '3', '--save-masks')

    assert result.kind == 'video' and result.processed == FRAMES and not result.skipped
    assert result.overlay_video == tmp_path / 'out' / 'clip_overlay.mp4'
    overlay = cv2.VideoCapture(str(result.overlay_video))
    assert overlay.get(cv2.CAP_PROP_FPS) == pytest.approx(10.0)
    overlay.release()
    frames = read_video(result.overlay_video)
    assert len(frames) == FRAMES and {f.shape for f in frames} == {(HEIGHT, WIDTH, 3)}

    masks = sorted((tmp_path / 'out' / 'masks' / 'clip').glob('*.png'))
    assert [m.name for m in masks] == [f'{i:06d}.png' for i in range(FRAMES)]
    for mask_path in masks:
        mask = cv2.imread(str(mask_path), cv2.IMREAD_UNCHANGED)
        assert mask.shape == (HEIGHT, WIDTH) and mask.dtype == np.uint8
        assert set(np.unique(mask)) <= {0, 1}
    # The frozen encoder ran once per frame, in batches 3, 3, 1 (cache off, one forward).
    assert count_trunk_rows == [3, 3, 1]
    assert result.frames_per_second > 0
    assert f'wrote {FRAMES} frames to ' in capsys.readouterr().out


def test_overlay_is_the_visualizer_blend_of_the_mask(tool, trained, tmp_path):
    """Overlay and mask come from one prediction; the blend is SegLocalVisualizer's."""
    import torch
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    from mmseg.visualization import SegLocalVisualizer

    images = trained['data_root'] / 'img_dir' / 'test'
    result = run(tool, trained, images / 'img_0.jpg', tmp_path / 'out', '--opacity', '0.6')
    assert result.kind == 'images' and result.processed == 1
    mask = cv2.imread(str(tmp_path / 'out/masks/img_0.png'), cv2.IMREAD_UNCHANGED)
    overlay = cv2.imread(str(tmp_path / 'out/overlays/img_0.png'))
    image = cv2.imread(str(images / 'img_0.jpg'))
    assert mask.shape == overlay.shape[:2] == image.shape[:2] == (48, 80)

    model = tool.build_model(trained['config'], trained['checkpoint'])
    assert model.backbone.feature_cache is None  # the config asks for one; inference doesn't
    visualizer = SegLocalVisualizer(alpha=0.6)
    visualizer.dataset_meta = model.dataset_meta
    sample = SegDataSample()
    sample.pred_sem_seg = PixelData(data=torch.from_numpy(mask[None].astype(np.int64)))
    visualizer.add_datasample('x', image[..., ::-1].copy(), sample, draw_gt=False, show=False,
                              with_labels=False)
    expected = visualizer.get_image()[..., ::-1].astype(int)
    assert np.abs(overlay.astype(int) - expected).max() <= 1  # rounding vs truncation


def test_folder_skips_unreadable_images(tool, trained, tmp_path, count_trunk_rows, capsys):
    folder = tmp_path / 'images'
    folder.mkdir()
    for index in range(2):
        image = np.random.default_rng(index).integers(0, 255, (30 + index, 50, 3), np.uint8)
        cv2.imwrite(str(folder / f'good_{index}.png'), image)
    (folder / 'empty.jpg').write_bytes(b'')
    (folder / 'text.JPG').write_text('not an image')
    (folder / 'notes.txt').write_text('ignored: not an image suffix')

    with pytest.warns(tool.SkippedInputWarning) as caught:
        result = run(tool, trained, folder, tmp_path / 'out', '--batch-size', '4')

    assert result.processed == 2
    assert {(p.name, reason) for p, reason in result.skipped} == {
        ('empty.jpg', 'empty file'), ('text.JPG', 'not a decodable image')}
    warned = ' '.join(str(w.message) for w in caught)
    assert 'empty.jpg' in warned and 'text.JPG' in warned
    out = capsys.readouterr().out
    assert 'skipped ' in out and 'empty.jpg: empty file' in out and 'text.JPG' in out
    for kind in ('masks', 'overlays'):
        assert sorted(p.name for p in (tmp_path / 'out' / kind).iterdir()) == [
            'good_0.png', 'good_1.png']
    assert cv2.imread(str(tmp_path / 'out/masks/good_1.png')).shape[:2] == (31, 50)
    assert count_trunk_rows == [1, 1]  # two sizes: never stacked into one batch


def test_folder_with_only_bad_images_fails(tool, trained, tmp_path, capsys):
    folder = tmp_path / 'bad'
    folder.mkdir()
    (folder / 'empty.jpg').write_bytes(b'')
    with pytest.warns(tool.SkippedInputWarning):
        with pytest.raises(tool.InferenceError, match='empty.jpg'):
            run(tool, trained, folder, tmp_path / 'out')
    with pytest.warns(tool.SkippedInputWarning):
        assert tool.cli([trained['config'], trained['checkpoint'], str(folder),
                         '--out-dir', str(tmp_path / 'out')]) == 1
    assert 'error: none of the 1 images could be read' in capsys.readouterr().err


def test_bad_video_inputs_name_the_file(tool, trained, tmp_path):
    missing = tmp_path / 'missing.mp4'
    with pytest.raises(tool.InferenceError, match='input not found: .*missing.mp4'):
        run(tool, trained, missing, tmp_path / 'out')
    fake = tmp_path / 'fake.mkv'
    fake.write_text('not a video')
    with pytest.raises(tool.InferenceError, match='fake.mkv'):
        run(tool, trained, fake, tmp_path / 'out')
    empty = write_video(tmp_path / 'empty.avi', 'MJPG', frames=0)  # opens, has no frame
    with pytest.raises(tool.InferenceError, match='no frame could be read from video .*empty'):
        run(tool, trained, empty, tmp_path / 'out')
    other = tmp_path / 'clip.gif'
    other.write_bytes(b'GIF89a')
    with pytest.raises(tool.InferenceError, match='clip.gif is neither'):
        run(tool, trained, other, tmp_path / 'out')
    assert not list(tmp_path.glob('out/*.mp4'))


def test_missing_config_is_named(tool, trained, tmp_path):
    """The config goes through the tools' one loader, whose error names the file."""
    with pytest.raises(FileNotFoundError, match='CONFIG file not found: .*nope.py'):
        tool.build_model(str(tmp_path / 'nope.py'), trained['checkpoint'])
