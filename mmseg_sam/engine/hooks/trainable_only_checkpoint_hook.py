# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Save checkpoints that hold only the trained tensors (LoRA factors, neck, head)."""
from collections import OrderedDict

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ...models.utils.trainable_state import (
    TRAINABLE_ONLY_KEY,
    mark_trainable_only,
    trainable_state_keys,
)


@HOOKS.register_module()
class TrainableOnlyCheckpointHook(Hook):
    """Drop the frozen tensors from every checkpoint the runner saves, and mark the file.

    In ``before_save_checkpoint`` (periodic, best and last checkpoints alike) it keeps the
    entries of ``checkpoint['state_dict']`` that :func:`~mmseg_sam.models.utils.
    trainable_state.trainable_state_keys` names (parameters that require grad and the buffers
    of trained modules), marks the state dict as trainable-only in its ``_metadata`` and
    records ``checkpoint['meta']['mmseg_sam_trainable_only']`` with the counts. Optimizer and
    scheduler states are untouched: they only ever cover trainable parameters.

    Loading such a file (``load_from``, ``--resume``, ``tools/test.py``, ``init_model``)
    needs the pretrained weights in ``model.backbone.init_cfg``: our strict loading checks
    exactly the trainable keys and takes the frozen ones from there
    (:mod:`mmseg_sam.models.utils.strict_loading`). MMSeg modules without strict loading
    (an auxiliary head) that have frozen tensors would report them missing.
    """

    priority = 'LOW'

    def __init__(self) -> None:
        self._logged = False

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        state_dict = checkpoint['state_dict']
        keep = set(trainable_state_keys(model))
        kept = OrderedDict((key, value) for key, value in state_dict.items() if key in keep)
        kept._metadata = getattr(state_dict, '_metadata', None)
        mark_trainable_only(kept, model)
        dropped = len(state_dict) - len(kept)
        checkpoint['state_dict'] = kept
        checkpoint.setdefault('meta', {})[TRAINABLE_ONLY_KEY] = dict(
            kept_tensors=len(kept), dropped_tensors=dropped)
        if not self._logged:
            kept_values = sum(value.numel() for value in kept.values())
            all_values = sum(value.numel() for value in state_dict.values())
            runner.logger.info(
                f'Checkpoints hold the trainable tensors only: {len(kept)} tensors '
                f'({kept_values:,} values) of {len(state_dict)} ({all_values:,}); the frozen '
                f'ones are loaded from model.backbone.init_cfg.')
            self._logged = True
