# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""tools/train.py and tools/test.py turn their options into config values (no training)."""
import importlib.util

import pytest
import torch

CONFIG = 'configs/sam_frozen/convtrans-ln_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py'


def load_tool(repo_root, name):
    spec = importlib.util.spec_from_file_location(name, repo_root / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_options(repo_root, monkeypatch):
    train = load_tool(repo_root, 'train')
    config = str(repo_root / CONFIG)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = train.build_config(train.parse_args([config, '--amp', '--resume']))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.resume and cfg.load_from is None
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.work_dir.endswith('convtrans-ln_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024')
    cfg = train.build_config(train.parse_args([
        config, '--resume', 'ckpt.pth', '--work-dir', 'wd',
        '--cfg-options', 'train_dataloader.dataset.size=10']))
    assert (cfg.resume, cfg.load_from, cfg.work_dir) == (True, 'ckpt.pth', 'wd')
    assert cfg.train_dataloader.dataset.size == 10


def test_amp_without_a_gpu_is_bf16_autocast(repo_root, monkeypatch, tmp_path):
    """MMEngine's AmpOptimWrapper refuses the CPU: ``--amp`` there means bf16 autocast, also
    for a config that asks for AmpOptimWrapper itself; float16 without a GPU is refused."""
    train = load_tool(repo_root, 'train')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = train.build_config(train.parse_args([str(repo_root / CONFIG), '--amp']))
    assert cfg.optim_wrapper.type == 'BF16AutocastOptimWrapper'
    assert 'loss_scale' not in cfg.optim_wrapper
    amp_config = tmp_path / 'amp.py'
    amp_config.write_text(f"_base_ = ['{repo_root / CONFIG}']\n"
                          "optim_wrapper = dict(type='AmpOptimWrapper', loss_scale=512.0)\n")
    cfg = train.build_config(train.parse_args([str(amp_config), '--amp']))
    assert cfg.optim_wrapper.type == 'BF16AutocastOptimWrapper'
    assert 'loss_scale' not in cfg.optim_wrapper and cfg.optim_wrapper.optimizer.type == 'Adam'
    with pytest.raises(ValueError, match="optim_wrapper.type='OtherWrapper' has no mixed-prec"):
        train.build_config(train.parse_args([str(repo_root / CONFIG), '--amp', '--cfg-options',
                                             'optim_wrapper.type=OtherWrapper']))
    with pytest.raises(ValueError, match="optim_wrapper.dtype='float16'.*remove optim_wrapper"):
        train.build_config(train.parse_args([str(repo_root / CONFIG), '--amp', '--cfg-options',
                                             'optim_wrapper.dtype=float16']))


def test_missing_files_are_named(repo_root, tmp_path):
    train, test = load_tool(repo_root, 'train'), load_tool(repo_root, 'test')
    with pytest.raises(FileNotFoundError, match='config file not found: nope.py'):
        train.build_config(train.parse_args(['nope.py']))
    with pytest.raises(FileNotFoundError, match='checkpoint file not found'):
        test.build_config(test.parse_args([str(repo_root / CONFIG), str(tmp_path / 'x.pth')]))
