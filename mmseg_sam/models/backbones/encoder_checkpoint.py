# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Load official SAM / MobileSAM image-encoder weights into an encoder, strictly.

Accepted files (local path or URL, anything MMEngine's ``CheckpointLoader`` reads), always
unpickled with ``weights_only=True`` (:mod:`mmseg_sam.utils.checkpoint_files`):

* a whole official checkpoint (``sam_vit_b_01ec64.pth``, ``mobile_sam.pt``): a flat state dict
  whose encoder keys start with ``image_encoder.``;
* a bare image-encoder state dict (keys such as ``patch_embed.proj.weight``, ``neck.0.weight``);
* either of them wrapped under ``state_dict`` or ``model``, as training frameworks save them.

Position tables that depend on the input size are resized to the encoder's own shapes, so a
1024-pixel checkpoint serves any input size that is a multiple of 16:
``pos_embed`` (1, h, w, C) bicubically, global-attention ``rel_pos_*`` (2s-1, C) linearly.
"""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn

from ...utils.checkpoint_files import load_checkpoint_file
from ..utils.strict_loading import (
    CheckpointMismatchError,
    compare_state_dicts,
    format_key_list,
    format_key_report,
)

StateDict = Dict[str, torch.Tensor]


class EncoderCheckpointKeyError(CheckpointMismatchError, KeyError):
    """The encoder keys of a SAM checkpoint do not fit ``arch`` / ``prefix``."""


class EncoderCheckpointShapeError(CheckpointMismatchError, ValueError):
    """The keys fit but tensor shapes do not (another ``arch`` of the same depth)."""


def unwrap_state_dict(checkpoint: object, source: str) -> StateDict:
    """Return the tensor mapping inside a loaded checkpoint object."""
    if isinstance(checkpoint, dict):
        for wrapper_key in ('state_dict', 'model'):
            inner = checkpoint.get(wrapper_key)
            if isinstance(inner, dict):
                checkpoint = inner
                break
    if not isinstance(checkpoint, dict) or not all(
            isinstance(value, torch.Tensor) for value in checkpoint.values()):
        raise ValueError(f'{source}: expected a state dict of tensors (or one under '
                         f"'state_dict'/'model'), got {type(checkpoint).__name__}")
    return checkpoint


def select_encoder_weights(state_dict: StateDict, prefix: str, source: str) -> StateDict:
    """Keep the image-encoder tensors, with ``prefix`` removed.

    A file without any key under ``prefix`` is taken as a bare encoder state dict.
    """
    if prefix and any(key.startswith(prefix) for key in state_dict):
        return {key[len(prefix):]: value for key, value in state_dict.items()
                if key.startswith(prefix)}
    if any(key.startswith(('patch_embed.', 'neck.')) for key in state_dict):
        return dict(state_dict)
    prefixes = sorted({key.split('.')[0] + '.' for key in state_dict})
    raise EncoderCheckpointKeyError(
        f'{source}: no key starts with prefix {prefix!r} and the file does not look like a '
        f'bare image-encoder state dict either.\n'
        f'{format_key_list("first parts of its keys", prefixes)}\n'
        f'Fix: set model.backbone.init_cfg.prefix to the prefix of the encoder keys in the '
        f"file: 'image_encoder.' for SAM / MobileSAM files, 'backbone.encoder.' for a "
        f'checkpoint written by tools/train.py.')


def resize_pos_embed(pos_embed: torch.Tensor, grid_hw: Tuple[int, int]) -> torch.Tensor:
    """Resize a (1, h, w, C) absolute position embedding to (1, H, W, C), bicubic."""
    if tuple(pos_embed.shape[1:3]) == tuple(grid_hw):
        return pos_embed
    as_image = pos_embed.permute(0, 3, 1, 2).float()
    resized = F.interpolate(as_image, size=grid_hw, mode='bicubic', align_corners=False)
    return resized.permute(0, 2, 3, 1).to(pos_embed.dtype)


def resize_rel_pos(rel_pos: torch.Tensor, length: int) -> torch.Tensor:
    """Resize a (L, C) relative-position table to (length, C), linearly (as SAM does)."""
    if rel_pos.shape[0] == length:
        return rel_pos
    as_signal = rel_pos.float().t().unsqueeze(0)  # (1, C, L)
    resized = F.interpolate(as_signal, size=length, mode='linear', align_corners=False)
    return resized.squeeze(0).t().to(rel_pos.dtype)


def fit_position_tables(weights: StateDict, encoder: nn.Module) -> List[str]:
    """Resize size-dependent tables in ``weights`` to the encoder's shapes, in place.

    Returns:
        The names of the tensors that were resized (for the log).
    """
    own = encoder.state_dict()
    resized = []
    for name, value in weights.items():
        target = own.get(name)
        if target is None or target.shape == value.shape:
            continue
        if name == 'pos_embed' and value.dim() == 4:
            weights[name] = resize_pos_embed(value, tuple(target.shape[1:3]))
        elif name.endswith(('rel_pos_h', 'rel_pos_w')) and value.dim() == 2:
            weights[name] = resize_rel_pos(value, target.shape[0])
        else:
            continue
        resized.append(name)
    return resized


def load_encoder_checkpoint(encoder: nn.Module, checkpoint: str,
                            prefix: str = 'image_encoder.',
                            logger: Optional[str] = 'current') -> None:
    """Load a SAM-family image-encoder checkpoint into ``encoder``; every key must match.

    Args:
        encoder: the module built by :func:`build_image_encoder`.
        checkpoint: local path or URL.
        prefix: key prefix of the encoder inside a whole-model checkpoint.
        logger: MMEngine logger name for the one-line report of what was loaded from where.

    Raises:
        EncoderCheckpointKeyError: (a ``KeyError``) when encoder keys are missing or
            unexpected; the message lists them, at most ten per kind, one per line.
        EncoderCheckpointShapeError: (a ``ValueError``) when a tensor's shape cannot be
            matched (wrong ``arch`` for the file); listed the same way.
    """
    if '://' in str(checkpoint):  # URLs and other MMEngine schemes
        raw = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu', logger=logger)
    else:  # the same weights_only loader, with errors that name the config option
        raw = load_checkpoint_file(checkpoint, map_location='cpu',
                                   what='model.backbone.init_cfg.checkpoint')
    weights = select_encoder_weights(unwrap_state_dict(raw, checkpoint), prefix, checkpoint)
    resized = fit_position_tables(weights, encoder)

    own = encoder.state_dict()
    missing, unexpected, wrong_shape = compare_state_dicts(weights, own, ignore_missing=())
    if missing or unexpected or wrong_shape:
        # KeyError for wrong keys and ValueError for wrong shapes, as callers expect; both
        # print the whole report readably (CheckpointError.__str__).
        error = EncoderCheckpointKeyError if missing or unexpected else \
            EncoderCheckpointShapeError
        report = format_key_report([
            ('missing from the file', missing),
            (f'in the file (under {prefix!r}) but not in the encoder', unexpected),
            ('wrong shape', wrong_shape),
        ])
        raise error(
            f'{checkpoint}: image-encoder keys and shapes do not match the architecture.\n'
            f'{report}\n'
            f'Fix: set model.backbone.arch to the architecture of the file (vit_b/vit_l/vit_h '
            f'for SAM, vit_t for MobileSAM) and check model.backbone.init_cfg.prefix (now '
            f"{prefix!r}): 'image_encoder.' for SAM / MobileSAM files, 'backbone.encoder.' "
            f'for a checkpoint written by tools/train.py.')
    encoder.load_state_dict(weights, strict=True)
    note = f'; resized to the input size: {resized}' if resized else ''
    print_log(f'Loaded {len(weights)} image-encoder tensors from {checkpoint} '
              f'(prefix {prefix!r}){note}', logger=logger)
