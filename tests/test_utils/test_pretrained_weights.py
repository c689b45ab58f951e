# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""The from-scratch switch: its function and command-line forms agree and drop the weights."""
import argparse

import pytest
from mmengine.config import Config, DictAction

from mmseg_sam.utils.pretrained_weights import (
    WITHOUT_PRETRAINED_WEIGHTS_OPTIONS,
    without_pretrained_weights,
)


def pretrained_config() -> Config:
    return Config(dict(model=dict(
        type='EncoderDecoder', pretrained='open-mmlab://resnet50_v1c',
        backbone=dict(type='ResNetV1c', depth=50,
                      init_cfg=dict(type='Pretrained', checkpoint='https://x/y.pth')))))


def test_function_drops_both_weight_sources_in_place():
    cfg = pretrained_config()
    assert without_pretrained_weights(cfg) is cfg
    assert cfg.model.pretrained is None and cfg.model.backbone.init_cfg is None
    assert cfg.model.backbone.depth == 50 and cfg.model.type == 'EncoderDecoder'


def test_command_line_form_parses_to_the_same_config():
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    options = parser.parse_args(['--cfg-options', *WITHOUT_PRETRAINED_WEIGHTS_OPTIONS])
    assert WITHOUT_PRETRAINED_WEIGHTS_OPTIONS == ('model.pretrained=None',
                                                  'model.backbone.init_cfg=None')
    from_command_line = pretrained_config()
    from_command_line.merge_from_dict(options.cfg_options)
    assert from_command_line.to_dict() == without_pretrained_weights(
        pretrained_config()).to_dict()


@pytest.mark.parametrize('model', [None, dict(type='EncoderDecoder')])
def test_config_without_backbone_is_refused(model):
    cfg = Config(dict(model=model) if model else {})
    with pytest.raises(KeyError, match='model.backbone'):
        without_pretrained_weights(cfg)
    assert 'backbone' not in (cfg.get('model') or {})
