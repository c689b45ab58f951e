# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Run a trained checkpoint on an image folder, one image or a video; write masks and overlays.

    python tools/inference.py CONFIG CHECKPOINT INPUT --out-dir OUT [--device cpu]
                              [--opacity 0.5] [--batch-size 4] [--save-masks]
                              [--cfg-options KEY=VALUE ...]

INPUT is a folder of images, one image file (``.jpg .jpeg .png .bmp .tif .tiff .ppm``) or a
video file (``.mp4 .avi .mov .mkv .webm .m4v``, any case).

* Images: for each ``NAME.ext`` it writes ``OUT/masks/NAME.png`` (label values, uint8) and
  ``OUT/overlays/NAME.png`` (the image with the prediction blended over it). A file that
  cannot be read or decoded is skipped with a warning; the skipped files are listed at the
  end, and the run fails only when no image could be processed.
* Video: frames are read in order with OpenCV and predicted ``--batch-size`` at a time. It
  writes ``OUT/<video stem>_overlay.mp4`` (fourcc ``mp4v``, the input's size and frame rate,
  25 frames/s where the input does not say) and, with ``--save-masks``,
  ``OUT/masks/<video stem>/<frame index, 6 digits>.png``.

Masks and overlays have the original image / frame size. Every image runs through the model
once (MMSeg's ``init_model`` / ``inference_model``); the frozen-feature cache of the backbone
is switched off, since inference never sees a frame twice. The overlay is the same blend as
MMSeg's ``SegLocalVisualizer`` without class-name labels (those cost seconds per 1080p frame).
The last line printed gives the measured rate: processed frames / wall seconds of the run,
model building excluded.
"""
import argparse
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.config import DictAction
from mmseg.apis import inference_model, init_model
from torch import nn
from tqdm import tqdm

import mmseg_sam.safe_checkpoint_loading  # noqa: F401  (registration; safe loaders)
from mmseg_sam.utils.checkpoint_files import CheckpointError, check_checkpoint_file
from mmseg_sam.utils.config_loading import load_config_file

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.ppm')
VIDEO_SUFFIXES = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v')
DEFAULT_FPS = 25.0


class InferenceError(RuntimeError):
    """An input that cannot be processed (the message names it)."""


class SkippedInputWarning(UserWarning):
    """An image of a folder was skipped; the run goes on."""


@dataclass
class InferenceResult:
    """What a run did.

    Attributes:
        out_dir: the output folder.
        kind: 'images' (a folder or one image) or 'video'.
        processed: images or frames predicted and written.
        skipped: ``(path, reason)`` of each image that could not be read.
        seconds: wall time of the run after the model was built.
        frames_per_second: ``processed / seconds``.
        overlay_video: the overlay video written (video input only).
        fps_assumed: the input video gave no frame rate, so :data:`DEFAULT_FPS` was used.
    """

    out_dir: Path
    kind: str
    processed: int = 0
    skipped: List[Tuple[Path, str]] = field(default_factory=list)
    seconds: float = 0.0
    frames_per_second: float = 0.0
    overlay_video: Optional[Path] = None
    fps_assumed: bool = False


# ---------------------------------------------------------------------- inputs
def input_kind(path: Path) -> str:
    """'folder', 'image' or 'video' for ``path``; an :class:`InferenceError` otherwise."""
    if path.is_dir():
        return 'folder'
    if not path.exists():
        raise InferenceError(f'input not found: {path}')
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return 'image'
    if suffix in VIDEO_SUFFIXES:
        return 'video'
    raise InferenceError(f'{path} is neither an image folder, an image '
                         f'({" ".join(IMAGE_SUFFIXES)}) nor a video ({" ".join(VIDEO_SUFFIXES)})')


def list_images(image_dir: Path) -> List[Path]:
    """The image files directly in ``image_dir``, sorted by name."""
    if not image_dir.is_dir():
        raise NotADirectoryError(f'image folder not found: {image_dir}')
    images = sorted(p for p in image_dir.iterdir()
                    if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise InferenceError(f'no images ({", ".join(IMAGE_SUFFIXES)}) in {image_dir}')
    return images


def read_image(path: Path) -> np.ndarray:
    """Decode ``path`` to a BGR uint8 array as MMSeg's ``LoadImageFromFile`` does.

    Raises:
        ValueError: the file is empty, unreadable or not a decodable image (the message is
            the reason, without the path).
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValueError(f'cannot read: {error.strerror or error}') from error
    if not data:
        raise ValueError('empty file')
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as error:
        raise ValueError(f'cannot decode: {error}') from error
    if image is None:
        raise ValueError('not a decodable image')
    return image


# ---------------------------------------------------------------------- model
def build_model(config: str, checkpoint: str, device: str = 'cpu',
                cfg_options: Optional[dict] = None) -> nn.Module:
    """``init_model`` on ``config`` with the backbone's frozen-feature cache switched off."""
    # Missing, empty, truncated, text or unsafe files fail here, naming the file; a checkpoint
    # of another model fails in init_model (loading is strict for our modules).
    check_checkpoint_file(checkpoint, what='CHECKPOINT')
    cfg = load_config_file(config, cfg_options, what='CONFIG')
    if 'test_pipeline' not in cfg:
        raise InferenceError(f'{config} has no top-level test_pipeline, which MMSeg\'s '
                             f'inference_model reads')
    backbone = cfg.model.get('backbone')
    if isinstance(backbone, dict) and 'feature_cache' in backbone:
        backbone['feature_cache'] = None
    return init_model(cfg, checkpoint, device=device)


def predict(model: nn.Module, images: Sequence[np.ndarray]) -> List[np.ndarray]:
    """Label maps (H, W) uint8 at each image's own size, for one batch of BGR images.

    The images of one batch must have the same size (MMSeg stacks them for the test step).
    """
    results = inference_model(model, list(images))
    return [result.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8) for result in results]


def palette_lut(model: nn.Module) -> np.ndarray:
    """(256, 3) uint8 BGR colour per label value, from the model's ``dataset_meta``.

    Labels beyond the palette (and the class list) are not coloured, as in MMSeg's
    ``SegLocalVisualizer``.
    """
    meta = getattr(model, 'dataset_meta', None) or {}
    num_classes = len(meta.get('classes') or ()) or model.decode_head.num_classes
    palette = [list(c) for c in (meta.get('palette') or [])][:num_classes]
    if len(palette) < num_classes:
        rng = np.random.default_rng(42)
        palette += rng.integers(0, 256, (num_classes - len(palette), 3)).tolist()
    lut = np.zeros((256, 3), np.uint8)
    lut[:min(num_classes, 256)] = np.asarray(palette[:256], np.uint8)[:, ::-1]  # RGB -> BGR
    return lut


def draw_overlay(image: np.ndarray, labels: np.ndarray, lut: np.ndarray,
                 opacity: float) -> np.ndarray:
    """Blend the colour of each label over a BGR image: ``image * (1 - a) + colour * a``.

    Args:
        image: (H, W, 3) uint8 BGR.
        labels: (H, W) uint8 label values, the same size.
        lut: :func:`palette_lut`.
        opacity: ``a`` in (0, 1].

    Returns:
        (H, W, 3) uint8 BGR.
    """
    return cv2.addWeighted(image, 1.0 - opacity, lut[labels], opacity, 0.0)


def write_png(path: Path, image: np.ndarray) -> None:
    if not cv2.imwrite(str(path), image):
        raise OSError(f'could not write {path}')


def batches(items: Iterable, batch_size: int) -> Iterator[list]:
    """Consecutive lists of ``batch_size`` items (the last may be shorter)."""
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


# ---------------------------------------------------------------------- runs
def run_images(model: nn.Module, paths: List[Path], out_dir: Path, opacity: float,
               batch_size: int) -> InferenceResult:
    """Predict image files; skip (and report) those that cannot be decoded."""
    result = InferenceResult(out_dir=out_dir, kind='images')
    lut = palette_lut(model)
    (out_dir / 'masks').mkdir(parents=True, exist_ok=True)
    (out_dir / 'overlays').mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    progress = tqdm(total=len(paths), desc='inference', unit='img')

    def decoded() -> Iterator[Tuple[Path, np.ndarray]]:
        for path in paths:
            try:
                yield path, read_image(path)
            except ValueError as error:
                result.skipped.append((path, str(error)))
                progress.update(1)
                warnings.warn(f'skipping {path}: {error}', SkippedInputWarning, stacklevel=2)

    def same_size_batches() -> Iterator[List[Tuple[Path, np.ndarray]]]:
        # MMSeg's test step stacks a batch, so a batch holds images of one size only.
        batch: List[Tuple[Path, np.ndarray]] = []
        for item in decoded():
            if batch and (len(batch) == batch_size or item[1].shape != batch[0][1].shape):
                yield batch
                batch = []
            batch.append(item)
        if batch:
            yield batch

    with progress:
        for batch in same_size_batches():
            for (path, image), labels in zip(batch, predict(model, [i for _, i in batch])):
                write_png(out_dir / 'masks' / f'{path.stem}.png', labels)
                write_png(out_dir / 'overlays' / f'{path.stem}.png',
                          draw_overlay(image, labels, lut, opacity))
            result.processed += len(batch)
            progress.update(len(batch))
    _finish_timing(result, start)
    for path, reason in result.skipped:
        print(f'skipped {path}: {reason}')
    if not result.processed:
        raise InferenceError(f'none of the {len(paths)} images could be read: '
                             + '; '.join(f'{p.name} ({r})' for p, r in result.skipped))
    print(f'wrote {result.processed} masks and overlays to {out_dir}'
          f'{f", skipped {len(result.skipped)} files" if result.skipped else ""} '
          f'({result.frames_per_second:.2f} images/s)')
    return result


def run_video(model: nn.Module, video: Path, out_dir: Path, opacity: float, batch_size: int,
              save_masks: bool) -> InferenceResult:
    """Predict every frame of ``video``; write the overlay video and optionally the masks."""
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise InferenceError(f'cannot open video {video} (not a video, or a codec OpenCV '
                             f'cannot read)')
    result = InferenceResult(out_dir=out_dir, kind='video',
                             overlay_video=out_dir / f'{video.stem}_overlay.mp4')
    fps = capture.get(cv2.CAP_PROP_FPS)
    if not fps or not np.isfinite(fps) or fps <= 0:
        fps, result.fps_assumed = DEFAULT_FPS, True
        print(f'{video} gives no frame rate; writing the overlay at {DEFAULT_FPS:g} frames/s')
    frame_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    mask_dir = out_dir / 'masks' / video.stem
    out_dir.mkdir(parents=True, exist_ok=True)
    if save_masks:
        mask_dir.mkdir(parents=True, exist_ok=True)
    lut = palette_lut(model)
    writer: Optional[cv2.VideoWriter] = None
    start = time.perf_counter()

    def frames() -> Iterator[np.ndarray]:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield frame

    try:
        with tqdm(total=frame_count if frame_count > 0 else None, desc=video.name,
                  unit='frame') as progress:
            for batch in batches(frames(), batch_size):
                if writer is None:
                    height, width = batch[0].shape[:2]
                    writer = cv2.VideoWriter(str(result.overlay_video),
                                             cv2.VideoWriter_fourcc(*'mp4v'), fps,
                                             (width, height))
                    if not writer.isOpened():
                        raise InferenceError(f'cannot write {result.overlay_video} (mp4v)')
                for frame, labels in zip(batch, predict(model, batch)):
                    writer.write(draw_overlay(frame, labels, lut, opacity))
                    if save_masks:
                        write_png(mask_dir / f'{result.processed:06d}.png', labels)
                    result.processed += 1
                progress.update(len(batch))
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    _finish_timing(result, start)
    if not result.processed:
        raise InferenceError(f'no frame could be read from video {video}')
    masks = f' and {result.processed} masks to {mask_dir}' if save_masks else ''
    print(f'wrote {result.processed} frames to {result.overlay_video}{masks} '
          f'({result.frames_per_second:.2f} frames/s)')
    return result


def _finish_timing(result: InferenceResult, start: float) -> None:
    result.seconds = time.perf_counter() - start
    result.frames_per_second = result.processed / result.seconds if result.seconds else 0.0


# ---------------------------------------------------------------------- command line
def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Predict masks and overlays for an image folder, an image or a video')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('input', type=Path, help='image folder, image file or video file')
    parser.add_argument('--out-dir', type=Path, required=True)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--opacity', type=float, default=0.5,
                        help='weight of the prediction colour in the overlay, in (0, 1]')
    parser.add_argument('--batch-size', type=int, default=4,
                        help='images / frames per forward pass')
    parser.add_argument('--save-masks', action='store_true',
                        help='video: also write one label PNG per frame (image inputs always '
                             'get masks)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, KEY=VALUE')
    args = parser.parse_args(argv)
    if not 0 < args.opacity <= 1:
        parser.error(f'--opacity must lie in (0, 1], got {args.opacity}')
    if args.batch_size < 1:
        parser.error(f'--batch-size must be at least 1, got {args.batch_size}')
    return args


def main(argv: Optional[List[str]] = None) -> InferenceResult:
    """Run the tool; raises :class:`InferenceError` for inputs it cannot process."""
    args = parse_args(argv)
    kind = input_kind(args.input)
    images = list_images(args.input) if kind == 'folder' else [args.input]
    model = build_model(args.config, args.checkpoint, args.device, args.cfg_options)
    if kind == 'video':
        return run_video(model, args.input, args.out_dir, args.opacity, args.batch_size,
                         args.save_masks)
    return run_images(model, images, args.out_dir, args.opacity, args.batch_size)


def cli(argv: Optional[List[str]] = None) -> int:
    """:func:`main` with input errors as a one-line message and exit status 1."""
    try:
        main(argv)
    except (InferenceError, FileNotFoundError, NotADirectoryError, CheckpointError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(cli())
