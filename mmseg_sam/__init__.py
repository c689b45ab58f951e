# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""mmseg-sam: prompt-free fine-tuning of Segment Anything inside MMSegmentation 1.x.

Importing this package (directly or through a config's
``custom_imports = dict(imports=['mmseg_sam'], allow_failed_imports=False)``) registers our
models, datasets, metrics, hooks and transforms in MMSeg's registries. Nothing else happens at
import: no downloads, no model building, and no process-wide change to how torch or MMEngine
load checkpoints (that is opt-in: :mod:`mmseg_sam.safe_checkpoint_loading`).
:func:`config_path` gives the path of a shipped config, for a user's config that inherits ours
(see :mod:`mmseg_sam.utils.packaged_configs`).
"""
# Imported for their side effect: each module registers itself in mmseg.registry.
from . import datasets, engine, evaluation, models, visualization  # noqa: F401
from .utils.packaged_configs import config_path
from .version import __version__

__all__ = ['__version__', 'config_path']
