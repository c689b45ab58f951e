# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""SAM's image encoder as an MMSeg backbone: frozen trunk, trainable neck."""
import hashlib
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import nn

from ...utils.checkpoint_files import checkpoint_source
from ..layers import DetailStem
from ..utils.feature_cache_policy import switch_off_cache_for_trainable_trunk
from ..utils.frozen_feature_cache import FrozenFeatureCache, build_feature_cache
from ..utils.strict_loading import CheckpointMismatchError, StrictLoadingMixin
from ..utils.trainable_state import BASE_WEIGHTS_KEY
from .encoder_archs import ImageSize, as_hw, build_image_encoder, resolve_arch
from .encoder_checkpoint import load_encoder_checkpoint, resize_pos_embed
from .lora import apply_lora, lora_parameters, parse_lora_config, without_lora
from .sam_vit_attention import use_sdpa_attention
from .trunk_execution import TRUNK_PRECISIONS, check_trunk_options, resolve_trunk_precision


@MODELS.register_module()
class SAMFrozenBackbone(StrictLoadingMixin, BaseModule):
    """Segment Anything's image encoder with a frozen trunk and a trainable neck.

    The trunk (patch embedding, position embedding and transformer blocks, or MobileSAM's
    TinyViT stages) is frozen: its parameters never require grad, it stays in ``eval()``
    after ``model.train()``, and it runs under ``torch.no_grad()``, so no activation is kept
    for backward. Only the neck (conv 1x1, LayerNorm2d, conv 3x3, LayerNorm2d -> 256 channels)
    trains, unless ``freeze_neck=True``. Because the trunk is frozen, its output can be cached
    per image (``feature_cache``), which removes the encoder from every epoch after the first.

    Paper: Kirillov et al., "Segment Anything", 2023, https://arxiv.org/abs/2304.02643.

    Args:
        arch: 'vit_b', 'vit_l', 'vit_h' (SAM), 'vit_t' (MobileSAM's TinyViT) or a dict for a
            custom size (see ``encoder_archs.resolve_arch``).
        img_size: input size the position tables are built for, int or (H, W), each side a
            multiple of 16. Pretrained tables are resized to it at load time. Inputs of
            another size still work; the position embedding is then interpolated per call.
        freeze_neck: also freeze the neck (then the whole backbone is a fixed extractor).
        out_indices: frozen intermediate outputs returned before the neck output, for
            multi-level and detail-preserving heads; default: neck output only. SAM ViT:
            block indices, each output (B, C_vit, H/16, W/16). TinyViT (MobileSAM): stage
            indices, each stage's output before its merge: 0 -> (B, 64, H/4, W/4), 1 ->
            (B, 128, H/8, W/8), 2 -> (B, 160, H/16, W/16), 3 -> (B, 320, H/16, W/16).
            They are frozen, so they go through the feature cache with the trunk output
            (its memory limit counts every level).
        detail_stem: None (default) or ``dict(channels=(16, 32))``: a small *trainable*
            convolution stream on the input image (:class:`~mmseg_sam.models.layers.
            DetailStem`), level k at stride 2**k, whose outputs are returned after the
            frozen ones and before the neck output, for a head's skips. Never cached.
        feature_cache: None/False (no cache), True (the defaults) or a dict of
            :class:`FrozenFeatureCache` arguments, e.g. ``dict(enabled='auto',
            max_memory_mb=4096)``. ``enabled`` is the one on/off setting: 'auto' (default:
            on unless the training pipeline is random without bound, decided before
            training by ``FrozenFeatureCacheHook`` from the pipeline, which this module
            cannot see), True (always on) or False (off). Keys are computed on the input's
            device; stored features live in host memory (see
            :mod:`mmseg_sam.models.utils.frozen_feature_cache`).
        trunk_precision: arithmetic of the frozen trunk: 'auto' (default: per arch and
            device, see ``trunk_execution``; SAM ViT: bf16 on CUDA GPUs that support it,
            else fp16 on CUDA, bf16 on CPUs with AVX512-BF16 or AMX, else fp32; TinyViT:
            fp16 on CUDA, else fp32, since bf16 moves mask edges), 'fp32',
            'bf16' or 'fp16' (autocast). The neck and head train in float32 (in bf16 / fp16
            only under mixed-precision training, ``--amp``); trunk outputs are cast to the
            input dtype. Part of the cache key, resolved per device.
        trunk_attention: 'sdpa' (default: PyTorch's fused attention with SAM's exact
            decomposed rel-pos bias as mask, same parameters and keys, within 1e-5 of the
            official module in fp32) or 'official' (segment_anything's own ``Attention``).
            SAM ViT archs only; TinyViT's attention is always fused. Part of the cache key.
        compile_trunk: run the trunk through ``torch.compile`` (default False: the first
            call per input shape compiles before it runs; then 1.4x on the ViT-B encoder on
            a 2-core CPU, README "Encoder execution modes"). Part of the cache key.
        lora: None (default: the trunk is frozen) or ``dict(rank=4, alpha=4, targets=('q',
            'v'), blocks=None)``: low-rank updates of the attention projections ('q', 'k',
            'v' slices of ``qkv``, and 'proj') of the given attention blocks (None: all;
            TinyViT counts its attention blocks over all stages), scaled by alpha / rank
            (see :mod:`.lora`). The base weights stay frozen and the LoRA factors train, so
            the trunk then runs with autograd (still in eval mode) and the feature cache is
            off: ``enabled='auto'`` turns it off, ``enabled=True`` is an error.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH_OR_URL, prefix='image_encoder.')``
            loads an official SAM / MobileSAM checkpoint unchanged; every encoder key must
            match (an error lists those that do not).

    Loading a model checkpoint (``load_from``, ``--resume``, ``init_model``, any
    ``load_state_dict``) is strict for this module whatever ``strict`` says: every key under
    its prefix must be there with its shape, or a :class:`CheckpointMismatchError` lists the
    differences (see :mod:`mmseg_sam.models.utils.strict_loading`).

    Returns (forward):
        tuple of tensors; the last is the neck output (B, 256, H/16, W/16).
    """

    def __init__(self,
                 arch: Union[str, Dict[str, Any]] = 'vit_b',
                 img_size: ImageSize = 1024,
                 freeze_neck: bool = False,
                 out_indices: Sequence[int] = (),
                 feature_cache: Union[None, bool, dict] = None,
                 trunk_precision: str = 'auto',
                 trunk_attention: str = 'sdpa',
                 compile_trunk: bool = False,
                 lora: Union[None, bool, dict] = None,
                 detail_stem: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.arch_family, _ = resolve_arch(arch)
        self.arch = arch
        self.img_size = as_hw(img_size)
        self.freeze_neck = freeze_neck
        check_trunk_options(trunk_precision, trunk_attention, self.arch_family)
        self.trunk_precision = trunk_precision
        self.trunk_attention = trunk_attention
        self.compile_trunk = bool(compile_trunk)
        self._compiled_trunk = None
        self.encoder = build_image_encoder(arch, self.img_size)
        if self.arch_family == 'vit' and trunk_attention == 'sdpa':
            use_sdpa_attention(self.encoder)
        # After the attention swap: LoRA wraps whichever qkv / proj modules the blocks call.
        self.lora_cfg = parse_lora_config(lora)
        self.lora_description = (apply_lora(self.encoder, self.arch_family, self.lora_cfg)
                                 if self.lora_cfg is not None else None)
        self.out_indices = self._check_out_indices(out_indices)
        self.detail_stem = self._build_detail_stem(detail_stem)
        self.feature_cache: Optional[FrozenFeatureCache] = build_feature_cache(feature_cache)
        if self.lora_description is not None and self.feature_cache is not None:
            switch_off_cache_for_trainable_trunk(self.feature_cache, self.lora_description)
        self._weights_signature: Optional[Tuple] = None
        self._weights_fingerprint = ''
        self._freeze()

    # ------------------------------------------------------------------ construction
    def _check_out_indices(self, out_indices: Sequence[int]) -> Tuple[int, ...]:
        indices = tuple(int(i) for i in out_indices)
        if not indices:
            return indices
        depth, unit = ((len(self.encoder.blocks), 'blocks') if self.arch_family == 'vit'
                       else (len(self.encoder.layers), 'stages'))
        if any(not 0 <= i < depth for i in indices) or len(set(indices)) != len(indices):
            raise ValueError(f'model.backbone.out_indices={indices}: expected distinct indices '
                             f'of the {depth} {unit} of {self.arch!r}, in [0, {depth})')
        # Returned in trunk order whatever order was given, so sort to make that visible.
        return tuple(sorted(indices))

    @staticmethod
    def _build_detail_stem(cfg: Optional[dict]) -> Optional[DetailStem]:
        if cfg is None:
            return None
        if not isinstance(cfg, dict) or set(cfg) - {'channels'}:
            raise ValueError(f'model.backbone.detail_stem={cfg!r}: expected None or '
                             f'dict(channels=(C_1, ..., C_k))')
        return DetailStem(in_channels=3, **cfg)

    def trunk_modules(self) -> List[nn.Module]:
        """The frozen part: every child of the encoder except ``neck``."""
        return [module for name, module in self.encoder.named_children() if name != 'neck']

    def _freeze(self) -> None:
        # Freezing happens here, not in train(): MMEngine builds the optimizer right after
        # the model, from the parameters that require grad at that moment.
        for name, parameter in self.encoder.named_parameters():
            if not name.startswith('neck.') or self.freeze_neck:
                parameter.requires_grad_(False)
        for parameter in lora_parameters(self.encoder):  # only LoRA's factors train inside
            parameter.requires_grad_(True)
        self._set_frozen_eval()

    def _set_frozen_eval(self) -> None:
        for module in self.trunk_modules():
            module.eval()
        if self.freeze_neck:
            self.encoder.neck.eval()

    def train(self, mode: bool = True) -> 'SAMFrozenBackbone':
        """Switch the neck to ``mode`` and put the frozen trunk back into eval mode."""
        super().train(mode)
        self._set_frozen_eval()
        return self

    def init_weights(self) -> None:
        """Load SAM weights for ``init_cfg`` of type 'Pretrained', strictly; else default init.

        MMEngine's own Pretrained initialiser only warns about mismatched keys, which would
        leave a silently random encoder; here a mismatch is an error.
        """
        init_cfg = self.init_cfg if isinstance(self.init_cfg, dict) else None
        if init_cfg is not None and init_cfg.get('type') == 'Pretrained':
            checkpoint = init_cfg.get('checkpoint')
            if not checkpoint:
                raise ValueError("SAMFrozenBackbone init_cfg type='Pretrained' needs "
                                 "'checkpoint' (a path or URL)")
            with without_lora(self.encoder):  # the official layout, every key checked
                load_encoder_checkpoint(self.encoder, checkpoint,
                                        prefix=init_cfg.get('prefix', 'image_encoder.'))
            self._is_init = True
            return
        print_log(f'SAMFrozenBackbone({self.arch!r}): no pretrained checkpoint given, the '
                  f'frozen encoder keeps its random initialisation', logger='current',
                  level=30)
        super().init_weights()

    def checkpoint_mismatch_hint(self, config_path: str, checkpoint_keys: Sequence[str],
                                 wrong_shape: Sequence[str]) -> str:
        """Cause and fix for a model checkpoint that does not fit (see StrictLoadingMixin)."""
        raw_file = ("model.backbone.init_cfg=dict(type='Pretrained', checkpoint=PATH), not "
                    "into load_from, --resume or the CHECKPOINT argument of tools/test.py and "
                    "tools/inference.py")
        if any(key.startswith('image_encoder.') for key in checkpoint_keys):
            lines = ["Its keys start with 'image_encoder.': this is a raw SAM / MobileSAM "
                     f"file, not a checkpoint of this model. Such a file goes into {raw_file}."]
        else:
            lines = [f'Was this checkpoint trained with this config? {config_path}.arch and '
                     f'.img_size must be those of training (and a raw SAM / MobileSAM file '
                     f'goes into {raw_file}).']
        if any(line.split(':')[0].endswith('pos_embed') for line in wrong_shape):
            lines.append(f'pos_embed has another grid: {config_path}.img_size differs from '
                         f'training. Keep the training value; inputs of other sizes work '
                         f'without changing it.')
        return '\n'.join(lines)

    def prepare_trainable_only_load(self, config_path: str, local_metadata: dict) -> None:
        """Load the official encoder weights under a trainable-only checkpoint, once.

        Training has loaded them already (``init_weights`` runs before ``load_from``).
        ``tools/test.py`` does not run ``init_weights``, so ``init_cfg`` is loaded here; MMSeg's
        ``init_model`` (``MMSegInferencer``, ``tools/inference.py``) deletes ``init_cfg``,
        so the ``Pretrained`` init_cfg recorded in the file when it was saved is used.
        """
        own = self.init_cfg if isinstance(self.init_cfg, dict) else None
        if own is not None and own.get('type') == 'Pretrained':
            if not self.is_init:
                self.init_weights()
            return
        recorded = local_metadata.get(BASE_WEIGHTS_KEY)
        if not recorded or not recorded.get('checkpoint'):
            raise CheckpointMismatchError(
                f'Checkpoint {checkpoint_source(local_metadata) or ""} holds only the trainable '
                f'tensors of the model, and neither it nor {config_path}.init_cfg says where '
                f"the frozen encoder weights come from. Fix: {config_path}.init_cfg=dict("
                f"type='Pretrained', checkpoint=OFFICIAL_SAM_FILE).")
        if getattr(self, '_base_weights_source', None) != recorded:
            with without_lora(self.encoder):
                load_encoder_checkpoint(self.encoder, recorded['checkpoint'],
                                        prefix=recorded.get('prefix', 'image_encoder.'))
            self._base_weights_source = dict(recorded)
            self._is_init = True

    # ------------------------------------------------------------------ forward
    def forward(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Encode a normalised batch.

        Args:
            inputs: (B, 3, H, W), H and W multiples of 16.

        Returns:
            ``(*frozen_outputs, *stem_outputs, neck_output)``: the outputs of ``out_indices``
            (shapes in the class docstring), the ``detail_stem`` levels (B, C_k, H/2**k,
            W/2**k), then the neck output (B, 256, H/16, W/16).
        """
        if inputs.dim() != 4 or inputs.shape[-2] % 16 or inputs.shape[-1] % 16:
            raise ValueError(f'SAMFrozenBackbone expects (B, C, H, W) with H and W multiples '
                             f'of 16, got {tuple(inputs.shape)}')
        trunk_outputs = self.frozen_features(inputs)
        neck_input = trunk_outputs[-1]
        if self.freeze_neck:
            with torch.no_grad():
                neck_output = self.encoder.neck(neck_input)
        else:
            neck_output = self.encoder.neck(neck_input)
        stem_outputs = self.detail_stem(inputs) if self.detail_stem is not None else []
        return (*trunk_outputs[:-1], *stem_outputs, neck_output)

    def frozen_features(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """Trunk outputs for ``inputs`` (B, 3, H, W), from the cache where possible.

        Keys are computed on ``inputs.device`` (a hit copies the cached features from host
        memory to that device, never the inputs to the host).

        Returns:
            ``[*out_indices_outputs, trunk_output]``, without autograd
            history unless LoRA trains in the trunk, in the dtype the trunk computes in (or
            the cache's storage dtype, cast back to the input dtype).
        """
        cache = self.feature_cache
        if cache is None or not cache.enabled or self.lora_cfg is not None:
            return self._run_trunk(inputs)
        context = self._cache_context(inputs)
        keys = cache.make_keys(inputs, context)
        per_image: List[Optional[List[torch.Tensor]]] = [cache.get(key) for key in keys]
        misses = [i for i, features in enumerate(per_image) if features is None]
        if misses:
            computed = self._run_trunk(inputs[misses])
            for row, index in enumerate(misses):
                per_image[index] = cache.put(keys[index], [level[row] for level in computed])
        dtype = inputs.dtype if inputs.is_floating_point() else torch.float32
        # Outside any outer autocast: CPU autocast refuses the float16 storage dtype in stack.
        with torch.autocast(inputs.device.type, enabled=False):
            return [torch.stack([features[level] for features in per_image])
                    .to(inputs.device, dtype) for level in range(len(per_image[0]))]

    def _run_trunk(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """Run the frozen trunk in ``trunk_precision``: ``[*out_indices_outputs, trunk_output]``.

        Returns:
            Tensors (B, C, h, w) in the dtype of ``inputs`` (float32 unless it is floating
            point in another dtype), whatever the trunk computed in.
        """
        device_type = inputs.device.type
        autocast_dtype = TRUNK_PRECISIONS[resolve_trunk_precision(
            self.trunk_precision, inputs.device, self.arch_family)]
        trunk = SAMFrozenBackbone._trunk_forward
        if self.compile_trunk:
            if self._compiled_trunk is None:
                # The unbound function, so that a deep copy of this module runs itself.
                self._compiled_trunk = torch.compile(SAMFrozenBackbone._trunk_forward)
            trunk = self._compiled_trunk
        # fp32 disables autocast explicitly, so an outer autocast (AMP training) does not
        # silently lower the trunk's precision below what the cache key says. Without LoRA
        # nothing in the trunk trains, so no activation is kept for backward.
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.lora_cfg is not None), \
                torch.autocast(device_type, dtype=autocast_dtype or torch.float32,
                               enabled=autocast_dtype is not None):
            outputs = trunk(self, inputs)
        dtype = inputs.dtype if inputs.is_floating_point() else torch.float32
        return [output.to(dtype) for output in outputs]

    def _trunk_forward(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """The trunk's layers, in whatever precision the caller set up."""
        if self.arch_family == 'tiny_vit':
            return self.encoder.forward_stages(inputs, self.out_indices)
        encoder = self.encoder
        tokens = encoder.patch_embed(inputs)  # (B, h, w, C)
        if encoder.pos_embed is not None:
            pos_embed = encoder.pos_embed
            if pos_embed.shape[1:3] != tokens.shape[1:3]:
                # Input size differs from img_size: interpolate per call (not stored).
                pos_embed = resize_pos_embed(pos_embed, tuple(tokens.shape[1:3]))
            tokens = tokens + pos_embed
        outputs = []
        for index, block in enumerate(encoder.blocks):
            tokens = block(tokens)
            if index in self.out_indices:
                outputs.append(tokens.permute(0, 3, 1, 2))
        outputs.append(tokens.permute(0, 3, 1, 2))
        return outputs

    # ------------------------------------------------------------------ cache keys
    def _cache_context(self, inputs: torch.Tensor) -> str:
        """Everything besides the image that changes the trunk output."""
        # An outer autocast (AMP training) is not part of it: _run_trunk sets the trunk's own
        # precision either way, so AMP steps and full-precision validation share entries.
        precision = resolve_trunk_precision(self.trunk_precision, inputs.device,
                                            self.arch_family)
        return (f'{self.arch!r}|{self.out_indices}|{inputs.dtype}|{inputs.device.type}|'
                f'trunk={precision}:'
                f'{self.trunk_attention}:compile={self.compile_trunk}|'
                f'weights={self.weights_fingerprint()}')

    def weights_fingerprint(self) -> str:
        """Hash of every trunk tensor, recomputed only when a tensor changed.

        A tensor's ``_version`` counter moves on every in-place write (``load_state_dict``,
        ``copy_``, optimiser steps), and ``data_ptr`` moves when it is replaced, so comparing
        these is a cheap, reliable staleness test for the expensive hash.
        """
        tensors = [t for module in self.trunk_modules()
                   for t in list(module.parameters()) + list(module.buffers())]
        pos_embed = getattr(self.encoder, 'pos_embed', None)  # a parameter of no child
        if isinstance(pos_embed, torch.Tensor):
            tensors.append(pos_embed)
        signature = tuple((t.data_ptr(), t._version) for t in tensors)
        if signature != self._weights_signature:
            hasher = hashlib.blake2b(digest_size=16)
            for tensor in tensors:
                data = tensor.detach().contiguous().cpu()
                hasher.update(data.reshape(-1).view(torch.uint8).numpy().tobytes())
            self._weights_fingerprint = hasher.hexdigest()
            self._weights_signature = signature
        return self._weights_fingerprint


__all__ = ['SAMFrozenBackbone']
