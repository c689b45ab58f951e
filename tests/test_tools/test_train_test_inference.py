# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""End to end on CPU: tools/train.py -> tools/test.py -> resume -> MMSeg's inference APIs.

A tiny SAM encoder written as an official checkpoint, a tiny generated dataset, and the
real configs of this repository with only sizes and paths overridden.
"""
import importlib.util
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import (
    TINY_VIT_ARCH,
    official_tiny_encoder,
    write_official_sam_checkpoint,
    write_segmentation_tree,
)

from mmseg_sam.utils.checkpoint_files import load_checkpoint_file

CONFIGS = {
    'binary': ('configs/sam_frozen/'
               'convtrans-ln_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py', 2),
    'multiclass': ('configs/sam_frozen/'
                   'convtrans-ln_sam-vit-t-frozen_1xb2-500_football-576x1024.py', 12),
}


def load_tool(repo_root: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, repo_root / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_tiny_config(repo_root: Path, tmp_path: Path, base: str, num_classes: int) -> Path:
    data_root = write_segmentation_tree(tmp_path / 'data', {'train': 4, 'test': 2},
                                        num_classes=num_classes)
    checkpoint = write_official_sam_checkpoint(tmp_path / 'sam_tiny.pth',
                                               official_tiny_encoder(img_size=64))
    pipeline = "[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), " \
               "dict(type='Resize', scale=(64, 64), keep_ratio=False), " \
               "dict(type='PackSegInputs')]"
    test_pipeline = "[dict(type='LoadImageFromFile'), " \
                    "dict(type='Resize', scale=(64, 64), keep_ratio=False), " \
                    "dict(type='LoadAnnotations'), dict(type='PackSegInputs')]"
    loader = "num_workers=0, persistent_workers=False"
    config = tmp_path / 'tiny.py'
    config.write_text(f"""
_base_ = [{str(repo_root / base)!r}]
model = dict(
    data_preprocessor=dict(size=(64, 64)),
    backbone=dict(arch={dict(TINY_VIT_ARCH, _delete_=True)!r}, img_size=64,
                  init_cfg=dict(type='Pretrained', checkpoint={str(checkpoint)!r})))
train_dataloader = dict({loader}, batch_size=2, dataset=dict(held_out=1, dataset=dict(
    data_root={str(data_root)!r}, pipeline={pipeline})))
val_dataloader = dict({loader}, dataset=dict(held_out=1, dataset=dict(
    data_root={str(data_root)!r}, pipeline={test_pipeline})))
test_dataloader = dict({loader}, dataset=dict(data_root={str(data_root)!r},
                                               pipeline={test_pipeline}))
test_pipeline = {test_pipeline}  # inference_model reads this one
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(checkpoint=dict(interval=2), visualization=dict(interval=1),
                     logger=dict(interval=1))
""")
    return config


@pytest.fixture(scope='module', params=sorted(CONFIGS))
def trained(request, repo_root, tmp_path_factory):
    base, num_classes = CONFIGS[request.param]
    tmp_path = tmp_path_factory.mktemp(request.param)
    config = write_tiny_config(repo_root, tmp_path, base, num_classes)
    work_dir = tmp_path / 'work'
    load_tool(repo_root, 'train').main([str(config), '--work-dir', str(work_dir)])
    return dict(config=config, work_dir=work_dir, num_classes=num_classes, tmp_path=tmp_path)


def test_training_writes_iteration_named_and_best_checkpoints(trained):
    names = {p.name for p in trained['work_dir'].glob('*.pth')}
    assert 'iter_2.pth' in names
    assert any(n.startswith('best_per_image_fg_iou_iter_') for n in names), names
    logs = '\n'.join(p.read_text() for p in trained['work_dir'].rglob('*.log'))
    assert 'Loaded' in logs and 'image-encoder tensors from' in logs and 'sam_tiny.pth' in logs
    # Prediction overlays drawn during validation.
    assert list(trained['work_dir'].rglob('vis_image/*.png'))


def test_test_tool_reports_both_metrics(trained, repo_root):
    metrics = load_tool(repo_root, 'test').main([
        str(trained['config']), str(trained['work_dir'] / 'iter_2.pth'),
        '--work-dir', str(trained['tmp_path'] / 'test')])
    assert {'mIoU', 'per_image_fg_iou'} <= set(metrics)
    assert 0 <= metrics['per_image_fg_iou'] <= 100


def test_resume_continues_from_the_checkpoint(trained, repo_root):
    resumed = trained['tmp_path'] / 'resumed'
    load_tool(repo_root, 'train').main([
        str(trained['config']), '--work-dir', str(resumed),
        '--resume', str(trained['work_dir'] / 'iter_2.pth'),
        '--cfg-options', 'train_cfg.max_iters=3', 'default_hooks.checkpoint.interval=1'])
    assert (resumed / 'iter_3.pth').is_file()
    assert load_checkpoint_file(resumed / 'iter_3.pth', map_location='cpu')['meta']['iter'] == 3


def test_amp_without_a_gpu_trains_and_resumes(repo_root, tmp_path, monkeypatch):
    """``--amp`` on the CPU runs MMEngine's loop with BF16AutocastOptimWrapper, saves, and
    resumes from its checkpoint (MMEngine's own AmpOptimWrapper would refuse to start)."""
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    config = write_tiny_config(repo_root, tmp_path, CONFIGS['binary'][0], 2)
    train, work_dir = load_tool(repo_root, 'train'), tmp_path / 'work'
    train.main([str(config), '--amp', '--work-dir', str(work_dir)])
    assert "type='BF16AutocastOptimWrapper'" in (work_dir / 'tiny.py').read_text()
    train.main([str(config), '--amp', '--work-dir', str(work_dir), '--resume',
                '--cfg-options', 'train_cfg.max_iters=3', 'default_hooks.checkpoint.interval=1'])
    assert load_checkpoint_file(work_dir / 'iter_3.pth', map_location='cpu')['meta']['iter'] == 3


def test_mmseg_inference_apis(trained):
    from mmseg.apis import MMSegInferencer, inference_model, init_model
    checkpoint = str(trained['work_dir'] / 'iter_2.pth')
    image = str(next((trained['tmp_path'] / 'data/img_dir/test').glob('*.jpg')))
    model = init_model(str(trained['config']), checkpoint, device='cpu')
    result = inference_model(model, image)
    assert result.pred_sem_seg.data.shape == (1, 48, 80)  # the original image size
    assert result.pred_sem_seg.data.max() < trained['num_classes']
    inferencer = MMSegInferencer(model=str(trained['config']), weights=checkpoint,
                                 device='cpu')
    output = inferencer(image, return_datasamples=True)
    assert torch.equal(output.pred_sem_seg.data, result.pred_sem_seg.data)


def test_inference_tool_writes_masks_and_overlays(trained, repo_root):
    out_dir = trained['tmp_path'] / 'inference'
    load_tool(repo_root, 'inference').main([
        str(trained['config']), str(trained['work_dir'] / 'iter_2.pth'),
        str(trained['tmp_path'] / 'data/img_dir/test'), '--out-dir', str(out_dir)])
    assert len(list((out_dir / 'masks').glob('*.png'))) == 2
    assert len(list((out_dir / 'overlays').glob('*.png'))) == 2


def test_init_model_through_custom_imports_alone(trained, repo_root):
    """A fresh interpreter that never imports mmseg_sam itself: the config's custom_imports
    registers our modules and the checkpoint allow-list before the checkpoint is read."""
    if trained['num_classes'] != 2:
        pytest.skip('one fresh interpreter is enough')
    script = ('import sys; from mmseg.apis import init_model; '
              'm = init_model(sys.argv[1], sys.argv[2], device="cpu"); '
              'print(type(m.backbone).__name__, "mmseg_sam" in sys.modules)')
    done = subprocess.run([sys.executable, '-c', script, str(trained['config']),
                           str(trained['work_dir'] / 'iter_2.pth')],
                          capture_output=True, text=True, cwd=repo_root, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith('SAMFrozenBackbone True')


class NotAllowed:
    """A class no checkpoint allow-list knows."""


def test_checkpoint_with_unknown_global_is_refused(trained, tmp_path):
    if trained['num_classes'] != 2:
        pytest.skip('checked once')
    from mmseg.apis import init_model
    # The test's own file, so it is trusted: loaded whole to plant a global in it.
    checkpoint = torch.load(trained['work_dir'] / 'iter_2.pth', map_location='cpu',
                            weights_only=False)
    checkpoint['meta']['payload'] = NotAllowed()
    tampered = tmp_path / 'tampered.pth'
    torch.save(checkpoint, tampered)
    with pytest.raises(pickle.UnpicklingError, match='NotAllowed'):
        init_model(str(trained['config']), str(tampered), device='cpu')
    # The genuine file holds MMEngine's message hub (HistoryBuffer + numpy) and still loads.
    assert 'message_hub' in checkpoint and np.isfinite(
        checkpoint['message_hub']['log_scalars']['train/loss'].mean())
