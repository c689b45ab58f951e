# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Encoder, training-step and inference speed of one model on this machine (the logic of
``tools/analysis/benchmark.py``, whose docstring describes what is timed)."""
import copy
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmseg_sam  # noqa: F401
from mmseg_sam.engine.optimizers import mixed_precision_optim_wrapper
from mmseg_sam.models.backbones import SAMFrozenBackbone
from mmseg_sam.models.backbones.encoder_checkpoint import load_encoder_checkpoint
from mmseg_sam.utils.packaged_configs import config_path

from .benchmark_train_step import time_steps

__all__ = ['MODES', 'Mode', 'benchmark', 'default_modes', 'parse_mode', 'render_table']

#: A trunk execution mode: (attention, precision, compiled).
Mode = Tuple[str, str, bool]

#: Modes by name; ``+compile`` may follow any of them (``sdpa-bf16+compile``).
MODES: Dict[str, Tuple[str, str]] = {
    'official-fp32': ('official', 'fp32'), 'sdpa-fp32': ('sdpa', 'fp32'),
    'sdpa-bf16': ('sdpa', 'bf16'), 'sdpa-fp16': ('sdpa', 'fp16')}

#: Base model config of each arch family.
MODEL_CONFIGS = {'vit': 'configs/_base_/models/convtrans-ln_sam-vit-b.py',
                 'tiny_vit': 'configs/_base_/models/convtrans-ln_sam-vit-t.py'}


def parse_mode(name: str) -> Mode:
    """``'sdpa-bf16+compile'`` -> ``('sdpa', 'bf16', True)``."""
    base, _, suffix = name.partition('+')
    if base not in MODES or suffix not in ('', 'compile'):
        raise ValueError(f'mode {name!r} is unknown; expected one of {sorted(MODES)}, '
                         f"optionally followed by '+compile'")
    return (*MODES[base], bool(suffix))


def mode_name(mode: Mode) -> str:
    return f'{mode[0]}-{mode[1]}' + ('+compile' if mode[2] else '')


def default_modes(device: torch.device) -> List[str]:
    """What is worth timing on ``device``: fp16 only where a GPU has fast fp16."""
    return (['sdpa-fp32', 'sdpa-bf16', 'sdpa-fp16'] if device.type == 'cuda'
            else ['sdpa-fp32', 'sdpa-bf16'])


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _timed(function: Callable[[], object], device: torch.device, warmup: int,
           iters: int) -> Tuple[float, Optional[float], object]:
    """(median seconds per call, peak MiB on CUDA or None, last result)."""
    for _ in range(warmup):
        result = function()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    seconds = []
    for _ in range(iters):
        _sync(device)
        start = time.perf_counter()
        result = function()
        _sync(device)
        seconds.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == 'cuda' else None
    return sorted(seconds)[len(seconds) // 2], peak, result


def build_backbone(arch: Union[str, dict], size: Tuple[int, int], mode: Mode,
                   checkpoint: Optional[str], device: torch.device) -> SAMFrozenBackbone:
    """A backbone in ``mode`` with the seeded random or ``checkpoint`` weights, in eval."""
    attention, precision, compiled = mode
    torch.manual_seed(0)
    backbone = SAMFrozenBackbone(arch=arch, img_size=size, trunk_precision=precision,
                                 trunk_attention=attention, compile_trunk=compiled)
    if checkpoint:
        load_encoder_checkpoint(backbone.encoder, checkpoint, prefix='image_encoder.')
    return backbone.to(device).eval()


def official_encoder(backbone: SAMFrozenBackbone) -> Tuple[str, torch.nn.Module]:
    """(label, module): the reference encoder with ``backbone``'s weights.

    SAM ViT: ``segment_anything``'s ``ImageEncoderViT`` (the backbone in 'official' mode
    holds one). TinyViT: MobileSAM's own ``TinyViT`` (package ``mobilesam-mirror``) where it is
    installed and accepts the size (square 1024 only), else our TinyViT in fp32, which the
    tests hold equal to it.
    """
    encoder = copy.deepcopy(backbone.encoder)
    if backbone.arch_family == 'vit':
        return 'official ImageEncoderViT fp32', encoder
    try:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            from mobile_sam.modeling.tiny_vit_sam import TinyViT as ReferenceTinyViT
    except ImportError:
        return 'our TinyViT fp32 (mobile_sam not installed)', encoder
    if backbone.img_size != (1024, 1024) or backbone.arch != 'vit_t':
        return 'our TinyViT fp32 (= MobileSAM; its code runs 1024x1024 only)', encoder
    reference = ReferenceTinyViT(
        img_size=1024, in_chans=3, num_classes=1000, embed_dims=[64, 128, 160, 320],
        depths=[2, 2, 6, 2], num_heads=[2, 4, 5, 10], window_sizes=[7, 7, 14, 7],
        mlp_ratio=4.0, drop_rate=0.0, drop_path_rate=0.0, mbconv_expand_ratio=4.0,
        local_conv_size=3)
    reference.load_state_dict(backbone.encoder.state_dict(), strict=True)
    reference.to(next(backbone.parameters()).device)
    return 'MobileSAM TinyViT fp32', reference.eval()


def _segmentor(arch: Union[str, dict], size: Tuple[int, int], mode: Mode, cache: bool,
               forward_mode: str, checkpoint: Optional[str], device: torch.device):
    family = 'tiny_vit' if arch == 'vit_t' or (isinstance(arch, dict)
                                              and arch.get('type') == 'tiny_vit') else 'vit'
    cfg = Config.fromfile(config_path(MODEL_CONFIGS[family]))
    model_cfg = cfg.model
    model_cfg.data_preprocessor.size = size
    backbone = model_cfg.backbone
    backbone.arch = arch
    backbone.img_size = size
    backbone.trunk_attention, backbone.trunk_precision, backbone.compile_trunk = mode
    backbone.feature_cache = dict(enabled=True, max_memory_mb=4096) if cache else None
    backbone.init_cfg = None
    model_cfg.decode_head.forward_mode = forward_mode
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    if checkpoint:
        load_encoder_checkpoint(model.backbone.encoder, checkpoint, prefix='image_encoder.')
    return model.to(device)


def _batch(images: torch.Tensor) -> dict:
    """A ``data_preprocessor`` input from uint8 images (B, 3, H, W), random binary labels."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    generator = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(len(images)):
        shape = tuple(images.shape[-2:])
        sample = SegDataSample(metainfo=dict(img_shape=shape, ori_shape=shape, pad_shape=shape))
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, 2, (1, *shape), generator=generator))
        samples.append(sample)
    return dict(inputs=list(images), data_samples=samples)


def benchmark(arch: Union[str, dict] = 'vit_b', size: Tuple[int, int] = (1024, 1024),
              batch: int = 1, modes: Optional[Sequence[str]] = None, warmup: int = 1,
              iters: int = 3, train_steps: int = 2, checkpoint: Optional[str] = None,
              images: Optional[torch.Tensor] = None, device: Union[str, torch.device] = 'cpu',
              log: Callable[[str], None] = print) -> List[dict]:
    """Time the encoder per mode, the training step (cached, uncached) and inference.

    Args:
        images: uint8 (B, 3, H, W) to use (else seeded random ones).

    Returns:
        One row per measurement: ``what``, ``mode``, ``seconds``, ``img_s``, ``peak_mib``,
        ``ratio`` (speed over the official fp32 row of the same ``what``), and for encoder
        and inference rows ``cosine``, ``max_abs_diff`` or ``mask_agreement`` against it.
    """
    init_default_scope('mmseg')
    device = torch.device(device)
    modes = [parse_mode(name) for name in (modes or default_modes(device))]
    if images is None:
        generator = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (batch, 3, *size), generator=generator,
                               dtype=torch.uint8)
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    inputs = ((images.float() - mean) / std).to(device)
    common = dict(arch=arch, size=size, batch=len(images), device=device)
    rows: List[dict] = []

    def add(row: dict) -> None:
        rows.append({**common, **row})
        log(f"{row['what']} {row['mode']}: {row['seconds']:.3f} s")

    # Encoder (trunk + neck), forward only.
    reference_backbone = build_backbone(arch, size, ('official', 'fp32', False)
                                        if _is_vit(arch) else ('sdpa', 'fp32', False),
                                        checkpoint, device)
    label, official = official_encoder(reference_backbone)
    with torch.no_grad():
        seconds, peak, expected = _timed(lambda: official(inputs), device, warmup, iters)
    add(dict(what='encoder', mode=label, seconds=seconds, peak_mib=peak, cosine=1.0,
             max_abs_diff=0.0))
    for mode in modes:
        backbone = build_backbone(arch, size, mode, checkpoint, device)
        with torch.no_grad():
            seconds, peak, actual = _timed(
                lambda b=backbone: b.encoder.neck(b.frozen_features(inputs)[-1]),
                device, warmup, iters)
        add(dict(what='encoder', mode=mode_name(mode), seconds=seconds, peak_mib=peak,
                 cosine=F.cosine_similarity(actual.flatten().double(),
                                            expected.flatten().double(), dim=0).item(),
                 max_abs_diff=(actual - expected).abs().max().item()))
        del backbone

    # Training steps of the whole segmentor, AdamW as in the configs; each kind (cached,
    # uncached) as the seed recipe runs it, then with the first mode and the subpixel head,
    # then that plus mixed precision as `tools/train.py --amp` sets it up on this device.
    data = _batch(images)
    optim = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-4))
    amp_optim = mixed_precision_optim_wrapper(optim, on_gpu=device.type == 'cuda')
    amp_label = 'fp16 amp' if device.type == 'cuda' else 'bf16 autocast'
    fp32 = ('official' if _is_vit(arch) else 'sdpa', 'fp32', False)
    default = modes[0]
    for what, cache in (('train step, cached', True), ('train step, uncached', False)):
        for mode, head, amp in ((fp32, 'modules', False), (default, 'subpixel', False),
                                (default, 'subpixel', True)):
            model = _segmentor(arch, size, mode, cache, head, checkpoint, device)
            model.train()
            wrapper = build_optim_wrapper(model, amp_optim if amp else optim)
            # A cached step repeats the same images: the warm-up step fills the cache.
            seconds = time_steps(model, data, wrapper, warmup=1, steps=train_steps)
            label = f'{mode_name(mode)}, head {head}' + (f', {amp_label}' if amp else '')
            add(dict(what=what, mode=label, seconds=sorted(seconds)[len(seconds) // 2],
                     peak_mib=None))
            del model, wrapper

    # Inference of the whole segmentor (MMSeg's test_step: preprocess, predict, resize).
    masks = None
    for mode in [fp32] + [m for m in modes if m != fp32]:
        model = _segmentor(arch, size, mode, False, 'subpixel' if mode != fp32 else 'modules',
                           checkpoint, device).eval()
        with torch.no_grad():
            seconds, peak, predictions = _timed(
                lambda m=model: m.test_step(copy.deepcopy(data)), device, warmup, iters)
        predicted = torch.stack([sample.pred_sem_seg.data for sample in predictions])
        masks = predicted if masks is None else masks
        add(dict(what='inference', mode=f'{mode_name(mode)}, head '
                 f"{'modules' if mode == fp32 else 'subpixel'}", seconds=seconds,
                 peak_mib=peak, mask_agreement=(predicted == masks).float().mean().item()))
        del model
    _add_ratios(rows)
    return rows


def _is_vit(arch: Union[str, dict]) -> bool:
    return not (arch == 'vit_t' or (isinstance(arch, dict) and arch.get('type') == 'tiny_vit'))


def _add_ratios(rows: List[dict]) -> None:
    """``img_s`` and ``ratio`` to the first row of each ``what`` (the fp32 reference)."""
    first: Dict[str, float] = {}
    for row in rows:
        row['img_s'] = row['batch'] / row['seconds']
        first.setdefault(row['what'], row['seconds'])
        row['ratio'] = first[row['what']] / row['seconds']


def render_table(rows: List[dict]) -> str:
    """Markdown table; ``x ref`` is the speed-up over the first row of the same kind."""
    device = rows[0]['device']
    name = (torch.cuda.get_device_name(device) if device.type == 'cuda'
            else f'CPU, {torch.get_num_threads()} threads')
    lines = [f'device: {name}; arch {rows[0]["arch"]}, input {rows[0]["size"][0]}x'
             f'{rows[0]["size"][1]} (HxW), batch {rows[0]["batch"]}', '',
             '| what | mode | s | img/s | peak MiB | x ref | parity |',
             '|---|---|---|---|---|---|---|']
    for row in rows:
        if 'cosine' in row:
            parity = f"cos {row['cosine']:.6f}, max abs {row['max_abs_diff']:.1e}"
        elif 'mask_agreement' in row:
            parity = f"masks equal on {100 * row['mask_agreement']:.3f}% px"
        else:
            parity = ''
        peak = f"{row['peak_mib']:.0f}" if row['peak_mib'] is not None else 'n/a'
        lines.append(f"| {row['what']} | {row['mode']} | {row['seconds']:.3f} | "
                     f"{row['img_s']:.2f} | {peak} | {row['ratio']:.2f} | {parity} |")
    return '\n'.join(lines)
