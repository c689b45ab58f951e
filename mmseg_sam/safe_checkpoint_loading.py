# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Opt in to safe checkpoint loading for the whole process: import this module.

Importing it points MMEngine's checkpoint loaders for local files and ``http(s)://`` URLs at
:mod:`mmseg_sam.utils.checkpoint_files` (``weights_only=True`` with MMEngine's own globals
allowed for that load only, and errors that name the file and the fix). ``import mmseg_sam``
alone does not do this, so a library user's process keeps MMEngine's loaders unless it asks.

Who asks: our tools (``tools/train.py``, ``tools/test.py``, ``tools/inference.py``,
``tools/demo.py``) import this module, and our configs list it in ``custom_imports``, so MMSeg's
own tools and ``mmseg.apis.init_model`` get the same loaders for them. In your own config::

    custom_imports = dict(imports=['mmseg_sam', 'mmseg_sam.safe_checkpoint_loading'],
                          allow_failed_imports=False)
"""
from .utils.checkpoint_files import register_checkpoint_loaders

register_checkpoint_loaders()
