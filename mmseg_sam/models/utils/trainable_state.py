# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Which state-dict entries a *trainable-only* checkpoint holds, and how such a file is marked.

A fine-tuned SAM model is mostly its unchanged pretrained encoder: only the neck, the head and
any LoRA factors train (0.85M of 6.24M parameters for MobileSAM without LoRA). A
trainable-only checkpoint (written by ``TrainableOnlyCheckpointHook``) keeps those and drops
the frozen tensors, which the model gets back from its ``init_cfg`` (the official SAM /
MobileSAM file) when the checkpoint is loaded (:mod:`.strict_loading`).

The rule, one place for the saving hook and the strict loader:

* a parameter is kept iff it requires grad;
* a buffer is kept unless the module that owns it has parameters and all of them are frozen
  (BatchNorm statistics of a frozen trunk are dropped, those of a trained head kept).

The mark is :data:`TRAINABLE_ONLY_KEY` in every entry of the state dict's ``_metadata``, the
per-module mapping that PyTorch and MMEngine save with every state dict and hand each module
as ``local_metadata`` when loading, so each module can see how the file was written. The entry
of a module with a ``Pretrained`` ``init_cfg`` also records it (:data:`BASE_WEIGHTS_KEY`):
MMSeg's ``init_model`` (used by ``MMSegInferencer`` and ``tools/inference.py``) deletes the
backbone's ``init_cfg`` before it builds the model, and the file then still says where the
frozen weights come from.
"""
from collections import OrderedDict
from typing import List, Optional, Set

from torch import nn

#: Key set in every ``state_dict._metadata`` entry of a trainable-only checkpoint.
TRAINABLE_ONLY_KEY = 'mmseg_sam_trainable_only'
#: Key of the ``Pretrained`` init_cfg (checkpoint, prefix) in a module's metadata entry.
BASE_WEIGHTS_KEY = 'mmseg_sam_base_weights'


def frozen_state_keys(module: nn.Module) -> Set[str]:
    """State-dict keys (relative to ``module``) that a trainable-only checkpoint leaves out."""
    frozen: Set[str] = set()
    for module_name, child in module.named_modules():
        prefix = f'{module_name}.' if module_name else ''
        own_parameters = list(child.named_parameters(recurse=False))
        for name, parameter in own_parameters:
            if not parameter.requires_grad:
                frozen.add(prefix + name)
        if own_parameters and not any(p.requires_grad for _, p in own_parameters):
            frozen.update(prefix + name for name, _ in child.named_buffers(recurse=False)
                          if name not in child._non_persistent_buffers_set)
    return frozen


def trainable_state_keys(module: nn.Module) -> List[str]:
    """State-dict keys (relative to ``module``, in state-dict order) that it keeps."""
    frozen = frozen_state_keys(module)
    return [key for key in module.state_dict(keep_vars=True) if key not in frozen]


def is_trainable_only(local_metadata: Optional[dict]) -> bool:
    """Whether a module's ``local_metadata`` says the state dict is trainable-only."""
    return isinstance(local_metadata, dict) and bool(local_metadata.get(TRAINABLE_ONLY_KEY))


def mark_trainable_only(state_dict: OrderedDict, model: nn.Module) -> None:
    """Set :data:`TRAINABLE_ONLY_KEY` in the ``_metadata`` entry of every module of ``model``.

    Entries the state dict lacks (a state dict built by hand) are created with the module's
    version, as ``nn.Module.state_dict`` would have written them. Modules with a
    ``Pretrained`` ``init_cfg`` get its ``checkpoint`` and ``prefix`` under
    :data:`BASE_WEIGHTS_KEY`.
    """
    metadata = getattr(state_dict, '_metadata', None)
    metadata = OrderedDict(metadata) if metadata is not None else OrderedDict()
    for name, child in model.named_modules():
        entry = dict(metadata.get(name) or {'version': child._version})
        entry[TRAINABLE_ONLY_KEY] = True
        init_cfg = getattr(child, 'init_cfg', None)
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            entry[BASE_WEIGHTS_KEY] = {key: str(init_cfg[key]) for key in ('checkpoint', 'prefix')
                                       if init_cfg.get(key) is not None}
        metadata[name] = entry
    state_dict._metadata = metadata


__all__ = ['BASE_WEIGHTS_KEY', 'TRAINABLE_ONLY_KEY', 'frozen_state_keys', 'is_trainable_only',
           'mark_trainable_only', 'trainable_state_keys']
