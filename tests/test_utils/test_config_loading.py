# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""The one config loader of the tools: missing files named, ``--cfg-options`` applied."""
import argparse
from pathlib import Path

import pytest

from mmseg_sam.utils.config_loading import load_config_file
from mmseg_sam.utils.runner_cli import load_config


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / 'small.py'
    path.write_text("model = dict(type='M', backbone=dict(depth=4, out_indices=[1, 2]))\n"
                    "train_cfg = dict(max_iters=500)\n")
    return path


def test_loads_str_and_path_without_options(config):
    for path in (config, str(config)):
        cfg = load_config_file(path)
        assert cfg.model.backbone.depth == 4 and cfg.train_cfg.max_iters == 500
    assert load_config_file(config, {}).train_cfg.max_iters == 500


def test_options_are_merged_and_not_shared_between_configs(config):
    options = {'train_cfg.max_iters': 3, 'model.backbone.out_indices': [0]}
    first, second = load_config_file(config, options), load_config_file(config, options)
    assert first.train_cfg.max_iters == 3 and first.model.backbone.out_indices == [0]
    assert first.model.backbone.depth == 4  # merged into, not replaced
    first.model.backbone.out_indices.append(5)
    assert second.model.backbone.out_indices == [0]
    assert options == {'train_cfg.max_iters': 3, 'model.backbone.out_indices': [0]}


@pytest.mark.parametrize('what', ['config', 'CONFIG'])
def test_missing_file_is_named(tmp_path, what):
    missing = tmp_path / 'nope.py'
    with pytest.raises(FileNotFoundError, match=f'^{what} file not found: .*nope.py$'):
        load_config_file(missing, what=what)
    with pytest.raises(FileNotFoundError, match='file not found'):
        load_config_file(tmp_path)  # a folder is not a config file


def test_runner_cli_options_override_launcher(config):
    """``--cfg-options`` are applied after ``--launcher``, as in MMSeg's own tools."""
    args = argparse.Namespace(config=str(config), launcher='none', work_dir=None,
                              cfg_options={'train_cfg.max_iters': 7})
    cfg = load_config(args)
    assert (cfg.launcher, cfg.train_cfg.max_iters) == ('none', 7)
    args.cfg_options = {'launcher': 'slurm'}
    assert load_config(args).launcher == 'slurm'
