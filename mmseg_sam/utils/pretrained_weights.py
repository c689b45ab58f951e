# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Build a model without pretrained weights: the one definition of the from-scratch switch.

MMSeg models name their pretrained weights in one of two places, ``model.pretrained`` (older
recipes, e.g. ``open-mmlab://resnet50_v1c``) or ``model.backbone.init_cfg`` (``Pretrained``
with a checkpoint URL, as in SAMFrozenBackbone's configs). Setting both to None leaves every
weight to the modules' own random initialisation, offline. The configs' comments, the READMEs,
the tests and the comparison tools all use this switch; its two forms come from one mapping so
that they cannot drift apart.

Note that a frozen encoder (SAMFrozenBackbone) built this way stays random: the switch is for
baselines that train their backbone, and for tests that must not download anything.
"""
from typing import Dict, Tuple

from mmengine.config import Config

__all__ = ['WITHOUT_PRETRAINED_WEIGHTS', 'WITHOUT_PRETRAINED_WEIGHTS_OPTIONS',
           'without_pretrained_weights']

#: The switch as a ``merge_from_dict`` mapping (what ``--cfg-options`` parses into).
WITHOUT_PRETRAINED_WEIGHTS: Dict[str, None] = {
    'model.pretrained': None,
    'model.backbone.init_cfg': None,
}

#: The switch on the command line, one ``KEY=VALUE`` per item, to follow ``--cfg-options``
#: (MMEngine's ``DictAction`` reads ``None`` as None): ``('model.pretrained=None', ...)``.
WITHOUT_PRETRAINED_WEIGHTS_OPTIONS: Tuple[str, ...] = tuple(
    f'{key}={value}' for key, value in WITHOUT_PRETRAINED_WEIGHTS.items())


def without_pretrained_weights(cfg: Config) -> Config:
    """Set ``model.pretrained`` and ``model.backbone.init_cfg`` of ``cfg`` to None, in place.

    Args:
        cfg: A model config with a ``model.backbone`` (any MMSeg segmentor config).

    Returns:
        ``cfg`` itself, for chaining (``build(without_pretrained_weights(load(path)))``).

    Raises:
        KeyError: ``cfg`` has no ``model`` or no ``model.backbone``; merging would otherwise
            invent a backbone dict holding only ``init_cfg=None``.
    """
    model = cfg.get('model')
    if model is None or model.get('backbone') is None:
        raise KeyError('without_pretrained_weights needs a config with model.backbone')
    cfg.merge_from_dict(dict(WITHOUT_PRETRAINED_WEIGHTS))
    return cfg
