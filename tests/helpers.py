# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Small builders shared by the tests: tiny SAM encoders, official-format checkpoints, data."""
import importlib.util
import sys
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Dict, Tuple

import cv2
import numpy as np
import torch
from segment_anything.modeling import (
    ImageEncoderViT,
    MaskDecoder,
    PromptEncoder,
    Sam,
    TwoWayTransformer,
)
from torch import nn

#: A SAM ViT small enough for CPU tests: 2 blocks of width 32, block 1 global.
TINY_VIT_ARCH: Dict = dict(embed_dim=32, depth=2, num_heads=2, global_attn_indexes=(1,),
                           window_size=2)
#: A TinyViT (MobileSAM's family) small enough for CPU tests: one block per stage, attention
#: widths 16, 24, 32.
TINY_TINY_VIT_ARCH: Dict = dict(type='tiny_vit', embed_dims=(8, 16, 24, 32), depths=(1, 1, 1, 1),
                                num_heads=(1, 2, 3, 4), window_sizes=(7, 7, 7, 7),
                                mlp_ratio=2.0, num_classes=0)


def official_tiny_encoder(img_size: int = 64, seed: int = 0) -> ImageEncoderViT:
    """The official ``ImageEncoderViT`` with :data:`TINY_VIT_ARCH`, every tensor random.

    Relative-position tables start at zero in SAM; they are randomised too, so that a test
    comparing outputs would notice tables that were loaded wrongly.
    """
    torch.manual_seed(seed)
    encoder = ImageEncoderViT(
        img_size=img_size, patch_size=16, embed_dim=32, depth=2, num_heads=2, mlp_ratio=4.0,
        out_chans=256, qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6),
        use_rel_pos=True, window_size=2, global_attn_indexes=(1,))
    with torch.no_grad():
        for parameter in encoder.parameters():
            parameter.normal_(0, 0.2)
    return encoder.eval()


def write_official_sam_checkpoint(path: Path, encoder: ImageEncoderViT) -> Path:
    """Save a whole SAM model in the official layout: a flat ``state_dict`` with
    ``image_encoder.*``, ``prompt_encoder.*`` and ``mask_decoder.*`` keys."""
    grid = encoder.img_size // 16
    sam = Sam(
        image_encoder=encoder,
        prompt_encoder=PromptEncoder(embed_dim=256, image_embedding_size=(grid, grid),
                                     input_image_size=(encoder.img_size, encoder.img_size),
                                     mask_in_chans=4),
        mask_decoder=MaskDecoder(
            transformer_dim=256,
            transformer=TwoWayTransformer(depth=1, embedding_dim=256, mlp_dim=32, num_heads=2),
            num_multimask_outputs=3, iou_head_depth=1, iou_head_hidden_dim=16))
    torch.save(sam.state_dict(), path)
    return path


def write_segmentation_tree(root: Path, splits: Dict[str, int], size: Tuple[int, int] = (48, 80),
                            num_classes: int = 2, seed: int = 0) -> Path:
    """Write an MMSeg-layout dataset of random JPEG images and PNG index masks.

    Each mask is a rectangle of a random class on background, so a model can learn it.
    Layout: ``img_dir/<split>/img_<i>.jpg``, ``ann_dir/<split>/img_<i>.png``.
    """
    rng = np.random.default_rng(seed)
    height, width = size
    for split, count in splits.items():
        (root / 'img_dir' / split).mkdir(parents=True, exist_ok=True)
        (root / 'ann_dir' / split).mkdir(parents=True, exist_ok=True)
        for index in range(count):
            image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
            mask = np.zeros((height, width), np.uint8)
            top, left = rng.integers(0, height // 2), rng.integers(0, width // 2)
            mask[top:top + height // 3, left:left + width // 3] = rng.integers(1, num_classes)
            image[mask > 0] = (200, 40, 40)
            cv2.imwrite(str(root / 'img_dir' / split / f'img_{index}.jpg'), image)
            cv2.imwrite(str(root / 'ann_dir' / split / f'img_{index}.png'), mask)
    return root


def tiny_model_cfg(repo_root: Path, num_classes: int = 2, img_size: int = 64,
                   feature_cache=None) -> dict:
    """The model of ``configs/_base_/models/convtrans-ln_sam-vit-b.py``, shrunk for CPU tests.

    The encoder becomes :data:`TINY_VIT_ARCH` at ``img_size`` with random weights; for
    ``num_classes > 2`` the head gets one logit per class and a softmax loss.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(str(repo_root / 'configs/_base_/models/convtrans-ln_sam-vit-b.py'))
    model = cfg.model
    model['data_preprocessor']['size'] = (img_size, img_size)
    model['backbone'].update(arch=dict(TINY_VIT_ARCH), img_size=img_size,
                             feature_cache=feature_cache, init_cfg=None)
    if num_classes > 2:
        model['decode_head'].update(
            num_classes=num_classes, out_channels=num_classes,
            loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
    return model


def seg_batch(num_classes: int, size: Tuple[int, int] = (64, 64), batch: int = 2, seed: int = 0):
    """A ``data_preprocessor`` input: uint8 images and SegDataSamples with index masks."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    generator = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(torch.randint(0, 255, (3, *size), generator=generator, dtype=torch.uint8))
        sample = SegDataSample(metainfo=dict(img_shape=size, ori_shape=size, pad_shape=size))
        label = torch.randint(0, num_classes, (1, *size), generator=generator)
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def write_tiny_run_config(repo_root: Path, base: str, config: Path, data_root: Path) -> Path:
    """A child of the real config ``base`` (relative to the repo) for 2-iteration CPU runs.

    It swaps in a random :data:`TINY_VIT_ARCH` encoder, 64 x 64 images from ``data_root``
    (a :func:`write_segmentation_tree`), no loader worker processes, a checkpoint at
    iteration 2 and logging every iteration. The top-level ``test_pipeline`` (which MMSeg's
    ``inference_model`` reads) resizes to 64 x 64 too.
    """
    pipeline = ("[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), "
                "dict(type='Resize', scale=(64, 64), keep_ratio=False), "
                "dict(type='PackSegInputs')]")
    test_pipeline = ("[dict(type='LoadImageFromFile'), "
                     "dict(type='Resize', scale=(64, 64), keep_ratio=False), "
                     "dict(type='LoadAnnotations'), dict(type='PackSegInputs')]")
    loader = 'num_workers=0, persistent_workers=False'
    config.write_text(f"""
_base_ = [{str(repo_root / base)!r}]
model = dict(
    data_preprocessor=dict(size=(64, 64)),
    backbone=dict(arch={dict(TINY_VIT_ARCH, _delete_=True)!r}, img_size=64, init_cfg=None))
train_dataloader = dict({loader}, dataset=dict(held_out=1, dataset=dict(
    data_root={str(data_root)!r}, pipeline={pipeline})))
val_dataloader = dict({loader}, dataset=dict(held_out=1, dataset=dict(
    data_root={str(data_root)!r}, pipeline={test_pipeline})))
test_dataloader = dict({loader}, dataset=dict(data_root={str(data_root)!r},
                                               pipeline={test_pipeline}))
test_pipeline = {test_pipeline}
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(checkpoint=dict(interval=2), visualization=dict(draw=False),
                     logger=dict(interval=1))
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
""")
    return config


def load_script(path: Path) -> ModuleType:
    """Import a script of ``tools/`` (no package) as a module named after its file.

    The module is entered in ``sys.modules`` before it runs, as an import would do, because
    dataclasses of scripts with postponed annotations look their module up there.
    """
    name = f'{path.parent.name}_{path.stem}'
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def train_tiny_checkpoint(repo_root: Path, base: str, tmp_path: Path) -> Tuple[Path, Path, Path]:
    """Train :func:`write_tiny_run_config` of ``base`` for 2 iterations with tools/train.py.

    Returns:
        ``(config, checkpoint, data_root)``: the tiny config, its ``iter_2.pth`` and the
        generated dataset (4 train and 2 test images of 48 x 80).
    """
    data_root = write_segmentation_tree(tmp_path / 'data', {'train': 4, 'test': 2})
    config = write_tiny_run_config(repo_root, base, tmp_path / 'tiny.py', data_root)
    load_script(repo_root / 'tools' / 'train.py').main([str(config), '--work-dir',
                                                        str(tmp_path / 'work')])
    return config, tmp_path / 'work' / 'iter_2.pth', data_root
