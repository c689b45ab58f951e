# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Refuse a checkpoint whose keys or shapes do not fit our modules, wherever it is loaded.

MMEngine's ``load_checkpoint`` (``load_from``, ``--resume``, ``tools/test.py``, MMSeg's
``init_model`` and ``MMSegInferencer``) is non-strict: missing, unexpected and wrong-shape
tensors only give a warning, and the model runs with random weights where they were meant to
be. A raw ``mobile_sam.pt`` given as a model checkpoint, or a checkpoint of another ``arch``
or head, then prints the metrics of a random model and exits 0.

Both MMEngine's loader and ``torch.nn.Module.load_state_dict`` call
``_load_from_state_dict`` of every module with the module's key prefix and the keys under it,
whatever ``strict`` says. :class:`StrictLoadingMixin` overrides it: before anything is
copied, it compares the keys under the prefix and their shapes with the module's own state
dict and raises one :class:`CheckpointMismatchError` that lists, capped and one per line,
what is missing, what is unexpected and what has the wrong shape. It also lists checkpoint
keys that no module of the model took (recorded by the modules loaded before), such as the
``image_encoder.*`` keys of a raw SAM file. Optimizer, scheduler and meta parts of a
checkpoint are not model keys and stay MMEngine's business.

The check is per module: MMSeg modules next to ours (an auxiliary ``FCNHead``, ...) are still
loaded by MMEngine's non-strict rules, and their own missing keys stay warnings.

A *trainable-only* checkpoint (marked in its ``_metadata``, see :mod:`.trainable_state`)
holds exactly the tensors that train. For it the same check runs against exactly those keys:
a missing trainable tensor, a frozen tensor that the file holds, or a wrong shape is still an
error. The frozen tensors keep the values the module has, which
:meth:`StrictLoadingMixin.prepare_trainable_only_load` provides first (the backbone loads
its official SAM / MobileSAM weights from ``init_cfg`` there), and are handed on to the
loaders of the sub-modules so that nothing is reported missing.
"""
from typing import Iterable, List, Optional, Sequence, Tuple

import torch

from ...utils.checkpoint_files import CheckpointError, checkpoint_source
from .trainable_state import frozen_state_keys, is_trainable_only

#: Names listed per category before '... and N more'.
MAX_LISTED = 10


class CheckpointMismatchError(CheckpointError, RuntimeError):
    """A checkpoint's keys or tensor shapes do not fit the model (the message lists them)."""


def format_key_list(title: str, names: Sequence[str], limit: int = MAX_LISTED,
                    indent: str = '  ') -> str:
    """``title (N):`` and then at most ``limit`` names, one per line, then '... and M more'.

    Returns '' for no names, so callers can join sections and drop the empty ones.
    """
    if not names:
        return ''
    lines = [f'{indent}{title} ({len(names)}):']
    lines += [f'{indent}  {name}' for name in names[:limit]]
    if len(names) > limit:
        lines.append(f'{indent}  ... and {len(names) - limit} more')
    return '\n'.join(lines)


def format_key_report(sections: Iterable[Tuple[str, Sequence[str]]],
                      limit: int = MAX_LISTED) -> str:
    """The non-empty :func:`format_key_list` sections, newline-separated."""
    return '\n'.join(text for text in (format_key_list(title, names, limit)
                                       for title, names in sections) if text)


def _shape(value: object) -> Optional[Tuple[int, ...]]:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def compare_state_dicts(given: dict, own: dict, ignore_missing: Tuple[str, ...] = (
        'num_batches_tracked',)) -> Tuple[List[str], List[str], List[str]]:
    """Keys of ``own`` absent from ``given``, keys of ``given`` absent from ``own``, and
    ``'name: checkpoint (shape) vs model (shape)'`` for keys in both with other shapes.

    Missing keys ending in ``ignore_missing`` are not reported (BatchNorm's counters, which
    older checkpoints lack and which MMEngine and torch also forgive).
    """
    missing = [key for key in own if key not in given and not key.endswith(ignore_missing)]
    unexpected = [key for key in given if key not in own]
    wrong_shape = [f'{key}: checkpoint {_shape(given[key])} vs model {_shape(own[key])}'
                   for key in own if key in given and _shape(own[key]) is not None
                   and _shape(given[key]) != _shape(own[key])]
    return missing, unexpected, wrong_shape


class StrictLoadingMixin:
    """Make ``_load_from_state_dict`` of a module check its whole subtree first (see above).

    Put it before the ``nn.Module`` base: ``class Head(StrictLoadingMixin, BaseDecodeHead)``.
    Subclasses may override :meth:`checkpoint_mismatch_hint`.
    """

    def checkpoint_mismatch_hint(self, config_path: str, checkpoint_keys: Sequence[str],
                                 wrong_shape: Sequence[str]) -> str:
        """The last lines of the error: the probable cause and the fix.

        Args:
            config_path: where the module sits in the config, e.g. 'model.backbone'.
            checkpoint_keys: the checkpoint's keys under the module's prefix, then those that
                no module took.
            wrong_shape: the 'wrong shape' lines of the report.
        """
        return (f'Was this checkpoint trained with this config? {config_path} and the rest '
                f'of the model must be built as they were in training.')

    def prepare_trainable_only_load(self, config_path: str, local_metadata: dict) -> None:
        """Give the frozen tensors their values before a trainable-only checkpoint loads.

        The default keeps the values they have; a module whose frozen tensors come from a
        pretrained file loads it here (and raises if it has none).

        Args:
            config_path: where the module sits in the config, e.g. 'model.backbone'.
            local_metadata: the module's entry of the state dict's ``_metadata`` (its
                source file, the base weights recorded when it was saved).
        """

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        trainable_only = is_trainable_only(local_metadata)
        config_path = f'model.{prefix[:-1]}' if prefix else type(self).__name__
        frozen: List[str] = []
        if trainable_only:
            self.prepare_trainable_only_load(config_path, local_metadata)
            frozen = [prefix + key for key in sorted(frozen_state_keys(self))]
        own = self.state_dict(prefix=prefix, keep_vars=True)
        frozen_set = set(frozen)
        expected = {key: value for key, value in own.items() if key not in frozen_set}
        given = {key: value for key, value in state_dict.items() if key.startswith(prefix)}
        missing, unexpected, wrong_shape = compare_state_dicts(given, expected)
        # A trainable-only file that holds a frozen tensor was written for another freezing.
        frozen_given = [key for key in unexpected if key in frozen_set]
        unexpected = [key for key in unexpected if key not in frozen_set]
        # Keys the modules loaded before this one did not take (e.g. the root's).
        outside = [key for key in unexpected_keys if not key.startswith(prefix)]
        if missing or unexpected or wrong_shape or outside or frozen_given:
            source = checkpoint_source(local_metadata)
            subject = f'Checkpoint {source}' if source else 'The checkpoint'
            if trainable_only:
                subject += (' (trainable tensors only: the frozen ones come from the '
                            'pretrained weights)')
            report = format_key_report([
                ('missing from the checkpoint', missing),
                (f'in the checkpoint under {prefix!r} but not in the model'
                 if prefix else 'in the checkpoint but not in the model', unexpected),
                ('in the checkpoint but taken by no module of the model', outside),
                ('in the checkpoint but frozen in the model', frozen_given),
                ('wrong shape', wrong_shape),
            ])
            hint = self.checkpoint_mismatch_hint(config_path, [*given, *outside], wrong_shape)
            raise CheckpointMismatchError(
                f'{subject} does not fit {config_path} ({type(self).__name__}): its keys and '
                f'shapes must be those of the model.\n{report}\n{hint}')
        for key in frozen:  # the sub-modules' loaders copy them onto themselves: no change
            state_dict[key] = own[key].detach()
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)


__all__ = ['CheckpointMismatchError', 'StrictLoadingMixin', 'compare_state_dicts',
           'format_key_list', 'format_key_report']
