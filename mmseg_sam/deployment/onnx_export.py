# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Export a trained promptless segmentor to ONNX and check it against PyTorch.

The exported network is :class:`RawImageSegmentor`: RGB images as float pixel values
(B, 3, H, W) in 0..255 go in; the normalisation of the config's ``data_preprocessor`` (SAM's
mean and std) happens inside, so a deployment feeds decoded frames without knowing SAM's
statistics. Out come ``logits`` (B, C, H, W), the decode head's output at the input size, and
``mask`` (B, H, W) int64: ``sigmoid(logits) > threshold`` for a one-logit binary head (the
head's ``threshold``, as MMSeg predicts), else the arg-max class.

H and W must be multiples of 16 (SAM's patch size); :func:`prepare_image` resizes and pads a
file as the config's test pipeline and data preprocessor do. The batch size is dynamic. The
image size is dynamic for MobileSAM's TinyViT; SAM's ViT is exported at a fixed size, since
torch's ONNX exporter (torch 2.14) fails on its relative-position tables, which are resized
by a length computed from the input size (``segment_anything``'s ``get_rel_pos``).

The logic lives here (importable, tested); ``tools/deployment/export_onnx.py`` only parses
arguments. Needs the ``onnx``, ``onnxscript`` and ``onnxruntime`` packages.
"""
import math
import statistics
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: Exported input and output names.
INPUT_NAME = 'image'
OUTPUT_NAMES = ('logits', 'mask')
#: The patch size: exported H and W are multiples of it.
SIZE_DIVISOR = 16
#: Default tolerance on the logits (max abs difference) between onnxruntime and PyTorch.
DEFAULT_ATOL = 1e-3


class RawImageSegmentor(nn.Module):
    """A trained MMSeg ``EncoderDecoder`` as a plain image -> logits, mask network.

    Args:
        segmentor: the model (``init_model`` / ``MODELS.build`` + checkpoint), in eval mode.
        mean, std: per-channel pixel statistics (RGB, 0..255) of its data preprocessor.

    Forward:
        images (B, 3, H, W) float RGB in 0..255, H and W multiples of 16 ->
        ``(logits (B, C, H, W) float, mask (B, H, W) int64)``.
    """

    def __init__(self, segmentor: nn.Module, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.segmentor = segmentor
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        head = segmentor.decode_head
        self.binary = head.out_channels == 1
        self.threshold = float(getattr(head, 'threshold', None) or 0.5)

    @classmethod
    def from_segmentor(cls, segmentor: nn.Module) -> 'RawImageSegmentor':
        """Take mean and std from ``segmentor.data_preprocessor`` (MMSeg stores them as
        (3, 1, 1) buffers, in the channel order after its ``bgr_to_rgb``)."""
        preprocessor = segmentor.data_preprocessor
        if not getattr(preprocessor, '_enable_normalize', True):
            return cls(segmentor, [0.0, 0.0, 0.0], [1.0, 1.0, 1.0])
        return cls(segmentor, preprocessor.mean.flatten().tolist(),
                   preprocessor.std.flatten().tolist())

    def forward(self, images: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        inputs = (images - self.mean) / self.std
        logits = self.segmentor.decode_head(self.segmentor.extract_feat(inputs))
        if self.binary:
            mask = (logits.sigmoid() > self.threshold).squeeze(1).to(torch.int64)
        else:
            mask = logits.argmax(dim=1)
        return logits, mask


# ---------------------------------------------------------------------- model
def build_segmentor(config: Union[str, Path], checkpoint: Optional[str],
                    cfg_options: Optional[dict] = None) -> Tuple[nn.Module, object]:
    """Build the model of ``config`` on the CPU for export and load ``checkpoint``.

    The frozen-feature cache is switched off (each input is new), the trunk runs in fp32 and
    uncompiled whatever the config says. SAM ViT backbones use
    segment_anything's own attention module instead of the SDPA variant: same parameters and
    outputs, and the exporter converts it. Loading is strict (a trainable-only checkpoint
    takes its frozen weights from the backbone's ``init_cfg``).

    Returns:
        ``(segmentor in eval mode, config)``.
    """
    from mmengine.runner import load_checkpoint
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    import mmseg_sam  # noqa: F401  (registration, checkpoint loaders)
    from mmseg_sam.models.backbones.encoder_archs import resolve_arch
    from mmseg_sam.utils.config_loading import load_config_file
    register_all_modules(init_default_scope=True)
    cfg = load_config_file(config, cfg_options, what='CONFIG')
    backbone = cfg.model.get('backbone')
    if isinstance(backbone, dict) and backbone.get('type') == 'SAMFrozenBackbone':
        backbone['feature_cache'] = None
        # An ONNX graph is float32: a bf16 'auto' trunk (SAM ViT on a bf16 CPU) would bake
        # its autocast casts into it, and a compiled trunk cannot be traced for export.
        backbone['trunk_precision'] = 'fp32'
        backbone['compile_trunk'] = False
        if resolve_arch(backbone.get('arch', 'vit_b'))[0] == 'vit':
            backbone['trunk_attention'] = 'official'
    cfg.model.train_cfg = None
    segmentor = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_checkpoint(segmentor, checkpoint, map_location='cpu')
    return segmentor.eval(), cfg


def supports_dynamic_size(segmentor: nn.Module) -> Tuple[bool, str]:
    """Whether the image size can be a dynamic ONNX dimension, and why not if it cannot."""
    backbone = getattr(segmentor, 'backbone', None)
    if getattr(backbone, 'arch_family', None) == 'vit':
        return False, ("SAM ViT resizes its relative-position tables to a length computed from "
                       "the input size, which torch's ONNX exporter cannot express; exported "
                       "at a fixed size")
    return True, ''


# ---------------------------------------------------------------------- images
def inference_pipeline(cfg) -> list:
    """The config's test pipeline without annotation loading and packing."""
    pipeline = cfg.get('test_pipeline') or cfg.test_dataloader.dataset.pipeline
    return [dict(step) for step in pipeline
            if step['type'] not in ('LoadAnnotations', 'PackSegInputs')]


def prepare_image(path: Union[str, Path], cfg) -> np.ndarray:
    """Read ``path`` and resize it as the config's test pipeline does, as (3, H, W) float RGB.

    H and W are padded at the bottom and right to multiples of 16 with the preprocessor's
    mean, which is what its zero padding after normalisation amounts to.
    """
    from mmcv.transforms import Compose
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    results = Compose(inference_pipeline(cfg))(dict(img_path=str(path)))
    image = results['img'].astype(np.float32)  # (H, W, 3) BGR as mmcv reads it
    preprocessor = cfg.model.get('data_preprocessor', {})
    if preprocessor.get('bgr_to_rgb', False) or preprocessor.get('rgb_to_bgr', False):
        image = image[..., ::-1]
    mean = np.asarray(preprocessor.get('mean') or (0.0, 0.0, 0.0), np.float32)
    height, width = image.shape[:2]
    padded = np.empty((math.ceil(height / SIZE_DIVISOR) * SIZE_DIVISOR,
                       math.ceil(width / SIZE_DIVISOR) * SIZE_DIVISOR, 3), np.float32)
    padded[...] = mean
    padded[:height, :width] = image
    return np.ascontiguousarray(padded.transpose(2, 0, 1))


def images_of_test_set(cfg, count: int) -> List[str]:
    """Paths of the first ``count`` images of the config's test set."""
    from mmseg.registry import DATASETS
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    return [dataset.get_data_info(i)['img_path'] for i in range(min(count, len(dataset)))]


# ---------------------------------------------------------------------- export
def export_onnx(model: RawImageSegmentor, path: Union[str, Path], example: torch.Tensor,
                dynamic_size: bool, opset: int = 18) -> Path:
    """Export ``model`` with torch's ONNX exporter (``dynamo=True``).

    Args:
        example: (B, 3, H, W) float input to trace with; B >= 2 so that the batch size is
            not specialised to 1.
        dynamic_size: also make H and W dynamic (multiples of 16).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    axes = {0: torch.export.Dim('batch', min=1, max=1024)}
    if dynamic_size:
        axes[2] = SIZE_DIVISOR * torch.export.Dim('height_16', min=1, max=512)
        axes[3] = SIZE_DIVISOR * torch.export.Dim('width_16', min=1, max=512)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter('ignore')  # the exporter's deprecation and tracing notes
        torch.onnx.export(model.eval(), (example,), str(path), dynamo=True, opset_version=opset,
                          input_names=[INPUT_NAME], output_names=list(OUTPUT_NAMES),
                          dynamic_shapes={'images': axes}, verbose=False)
    return path


# ---------------------------------------------------------------------- checks
@dataclass
class ParityReport:
    """onnxruntime against PyTorch on the same inputs.

    Attributes:
        max_abs_diff: largest absolute difference of the logits over all inputs.
        mask_agreement: share of pixels (0..1) where both masks agree.
        atol: the tolerance on ``max_abs_diff``.
        shapes: input shapes checked.
    """

    max_abs_diff: float
    mask_agreement: float
    atol: float
    shapes: List[Tuple[int, ...]]

    @property
    def passed(self) -> bool:
        return self.max_abs_diff <= self.atol

    def __str__(self) -> str:
        verdict = 'PASS' if self.passed else 'FAIL'
        return (f'parity {verdict}: max |logits onnxruntime - PyTorch| = '
                f'{self.max_abs_diff:.3g} (tolerance {self.atol:g}), mask agreement '
                f'{100 * self.mask_agreement:.4f}% over inputs {self.shapes}')


def onnx_session(path: Union[str, Path], threads: Optional[int] = None):
    """An onnxruntime CPU session, with ``threads`` intra-op threads (default: its own)."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=['CPUExecutionProvider'])


def check_parity(session, model: RawImageSegmentor, batches: Sequence[np.ndarray],
                 atol: float = DEFAULT_ATOL) -> ParityReport:
    """Run each (B, 3, H, W) batch through both and compare logits and masks."""
    max_diff, agree, total, shapes = 0.0, 0, 0, []
    for batch in batches:
        with torch.no_grad():
            logits, mask = (t.numpy() for t in model(torch.from_numpy(batch)))
        ort_logits, ort_mask = session.run(list(OUTPUT_NAMES), {INPUT_NAME: batch})
        if ort_logits.shape != logits.shape or ort_mask.shape != mask.shape:
            raise AssertionError(f'onnxruntime output shapes {ort_logits.shape}, '
                                 f'{ort_mask.shape} differ from PyTorch {logits.shape}, '
                                 f'{mask.shape} for input {batch.shape}')
        max_diff = max(max_diff, float(np.abs(ort_logits - logits).max()))
        agree += int((ort_mask == mask).sum())
        total += mask.size
        shapes.append(tuple(batch.shape))
    return ParityReport(max_diff, agree / max(total, 1), atol, shapes)


def median_seconds(run: Callable[[], object], runs: int, warmup: int = 1) -> float:
    """Median wall time of ``run()`` over ``runs`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass
class SpeedReport:
    """Median seconds per call on the CPU, batch of one image."""

    shape: Tuple[int, ...]
    torch_s: float
    onnxruntime_s: float
    threads: int
    runs: int

    def __str__(self) -> str:
        return (f'CPU latency, input {self.shape}, {self.threads} threads, median of '
                f'{self.runs}: PyTorch {1000 * self.torch_s:.1f} ms, onnxruntime '
                f'{1000 * self.onnxruntime_s:.1f} ms ({self.torch_s / self.onnxruntime_s:.2f}x)')


def measure_speed(session, model: RawImageSegmentor, image: np.ndarray, runs: int = 5,
                  threads: Optional[int] = None) -> SpeedReport:
    """Median latency of PyTorch and onnxruntime for one (1, 3, H, W) input."""
    threads = threads or torch.get_num_threads()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    tensor = torch.from_numpy(image)
    try:
        with torch.no_grad():
            torch_s = median_seconds(lambda: model(tensor), runs)
        ort_s = median_seconds(lambda: session.run(list(OUTPUT_NAMES), {INPUT_NAME: image}),
                               runs)
    finally:
        torch.set_num_threads(previous)
    return SpeedReport(tuple(image.shape), torch_s, ort_s, threads, runs)


def resized_copy(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` (3, H, W) resized bilinearly to (3, height, width), for a size check."""
    tensor = torch.from_numpy(image)[None]
    return F.interpolate(tensor, size=(height, width), mode='bilinear',
                         align_corners=False)[0].numpy()


@dataclass
class ExportResult:
    """What :func:`export_and_check` did: the file, its dynamic axes, parity and speed."""

    path: Path
    dynamic_size: bool
    fixed_size_reason: str
    images: List[str]
    parity: ParityReport
    speed: SpeedReport


def export_and_check(config: Union[str, Path], checkpoint: Optional[str], out: Union[str, Path],
                     images: Sequence[str] = (), num_images: int = 4,
                     dynamic_size: Optional[bool] = None, atol: float = DEFAULT_ATOL,
                     runs: int = 5, threads: Optional[int] = None,
                     cfg_options: Optional[dict] = None,
                     log: Callable[[str], None] = print) -> ExportResult:
    """Build, export, then check the ONNX file with onnxruntime on real images and time both.

    Args:
        images: image files to check on; default: the first ``num_images`` of the config's
            test set.
        dynamic_size: None: dynamic where the architecture allows it
            (:func:`supports_dynamic_size`); False: fixed at the first image's size.
        runs: timed calls per runtime (batch 1, median reported).
    """
    segmentor, cfg = build_segmentor(config, checkpoint, cfg_options)
    model = RawImageSegmentor.from_segmentor(segmentor).eval()
    paths = list(images) or images_of_test_set(cfg, num_images)
    if not paths:
        raise ValueError('no images to check the export on: give image paths or a config '
                         'whose test set is readable')
    arrays = [prepare_image(path, cfg) for path in paths]
    allowed, reason = supports_dynamic_size(segmentor)
    if dynamic_size is None:
        dynamic_size = allowed
    elif dynamic_size and not allowed:
        raise ValueError(f'dynamic image size is not possible here: {reason}')
    if not dynamic_size and not reason:
        reason = 'fixed size requested'
    first = arrays[0]
    example = torch.from_numpy(np.stack([first, first]))  # batch 2: not specialised to 1
    log(f'Exporting {config} ({checkpoint}) to {out}: input {INPUT_NAME} (B, 3, '
        f'{"H, W" if dynamic_size else f"{first.shape[1]}, {first.shape[2]}"}) float RGB '
        f'0..255, outputs logits and mask; dynamic batch'
        f'{" and size" if dynamic_size else f", fixed size ({reason})"}')
    start = time.perf_counter()
    path = export_onnx(model, out, example, dynamic_size)
    files = [path] + [p for p in [path.with_name(path.name + '.data')] if p.exists()]
    log(f'Exported in {time.perf_counter() - start:.1f} s: '
        + ', '.join(f'{p} ({p.stat().st_size / 2**20:.1f} MiB)' for p in files)
        + (' (weights beside the graph; keep both files together)' if len(files) > 1 else ''))
    session = onnx_session(path, threads)
    same_size = [a for a in arrays if a.shape == first.shape]
    batches = [a[None] for a in arrays if dynamic_size or a.shape == first.shape]
    if len(same_size) > 1:
        batches.append(np.stack(same_size[:4]))  # the dynamic batch on real images
    if dynamic_size:  # another size than the traced one
        batches.append(resized_copy(first, first.shape[1] // 2 // SIZE_DIVISOR * SIZE_DIVISOR
                                    or SIZE_DIVISOR, first.shape[2])[None])
    parity = check_parity(session, model, batches, atol)
    log(str(parity))
    speed = measure_speed(session, model, first[None], runs, threads)
    log(str(speed))
    return ExportResult(path, dynamic_size, '' if dynamic_size else reason, paths, parity,
                        speed)


__all__ = ['DEFAULT_ATOL', 'INPUT_NAME', 'OUTPUT_NAMES', 'ExportResult', 'ParityReport',
           'RawImageSegmentor', 'SpeedReport', 'build_segmentor', 'check_parity',
           'export_and_check', 'export_onnx',
           'images_of_test_set', 'inference_pipeline', 'measure_speed', 'onnx_session',
           'prepare_image', 'resized_copy', 'supports_dynamic_size']
