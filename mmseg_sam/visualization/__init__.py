# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
from .optional_tensorboard_vis_backend import OptionalTensorboardVisBackend

__all__ = ['OptionalTensorboardVisBackend']
