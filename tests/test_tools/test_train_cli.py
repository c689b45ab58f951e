# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""tools/train.py and tools/test.py turn their options into config values (no training)."""
import importlib.util

import pytest

CONFIG = 'configs/sam_frozen/convtrans-ln_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py'


def load_tool(repo_root, name):
    spec = importlib.util.spec_from_file_location(name, repo_root / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_options(repo_root):
    train = load_tool(repo_root, 'train')
    config = str(repo_root / CONFIG)
    cfg = train.build_config(train.parse_args([config, '--amp', '--resume']))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.resume and cfg.load_from is None
    assert cfg.work_dir.endswith('convtrans-ln_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024')
    cfg = train.build_config(train.parse_args([
        config, '--resume', 'ckpt.pth', '--work-dir', 'wd',
        '--cfg-options', 'train_dataloader.dataset.size=10']))
    assert (cfg.resume, cfg.load_from, cfg.work_dir) == (True, 'ckpt.pth', 'wd')
    assert cfg.train_dataloader.dataset.size == 10


def test_missing_files_are_named(repo_root, tmp_path):
    train, test = load_tool(repo_root, 'train'), load_tool(repo_root, 'test')
    with pytest.raises(FileNotFoundError, match='config file not found: nope.py'):
        train.build_config(train.parse_args(['nope.py']))
    with pytest.raises(FileNotFoundError, match='checkpoint file not found'):
        test.build_config(test.parse_args([str(repo_root / CONFIG), str(tmp_path / 'x.pth')]))
