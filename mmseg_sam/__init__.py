# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""mmseg-sam: prompt-free fine-tuning of Segment Anything inside MMSegmentation 1.x.

Importing this package (directly or through a config's
``custom_imports = dict(imports=['mmseg_sam'], allow_failed_imports=False)``) registers our
models, datasets, metrics, hooks and transforms in MMSeg's registries, and allow-lists the few
globals that MMEngine checkpoints pickle so that they load with ``torch.load(weights_only=True)``,
and makes MMEngine load local and ``http(s)://`` checkpoints through
:mod:`mmseg_sam.utils.checkpoint_files` (``weights_only=True``, errors that name the file).
Nothing else happens at import: no downloads, no model building. :func:`config_path` gives the
path of a shipped config, for a user's config that inherits ours (see
:mod:`mmseg_sam.utils.packaged_configs`).
"""
from .utils.checkpoint_files import register_checkpoint_loaders
from .utils.checkpoint_safety import allow_mmengine_checkpoint_globals
from .utils.packaged_configs import config_path
from .version import __version__

allow_mmengine_checkpoint_globals()
register_checkpoint_loaders()

# Imported for their side effect: each module registers itself in mmseg.registry.
from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__', 'allow_mmengine_checkpoint_globals', 'config_path']
