# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Every config under configs/ (except _base_) loads and builds; baselines and hybrids keep
our data protocol; hybrids train two iterations and predict; inheritance stays shallow.

Models are built on the CPU, shrunk by :func:`shrink`, and never load weights: SAM configs
drop their checkpoint, the others use the documented from-scratch switch
(``model.pretrained=None model.backbone.init_cfg=None``,
:func:`~mmseg_sam.utils.pretrained_weights.without_pretrained_weights`).
"""
import copy
import importlib.util
import re
from functools import cache
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest
import torch
from helpers import seg_batch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmseg.registry import DATASETS, MODELS

import mmseg_sam  # noqa: F401
from mmseg_sam.models.backbones.encoder_archs import SAM_VIT_ARCHS
from mmseg_sam.utils.pretrained_weights import (
    WITHOUT_PRETRAINED_WEIGHTS_OPTIONS,
    without_pretrained_weights,
)

ROOT = Path(__file__).resolve().parents[1]
CONFIG_ROOT = ROOT / 'configs'
#: Folders that must each contribute configs ('.' = configs/ itself).
REQUIRED_FOLDERS = ('.', 'sam_frozen', 'sam_detail', 'folder', 'baselines', 'hybrids')
#: Our model (frozen MobileSAM + ConvTransposeLNHead): baselines and hybrids must share the
#: data, budget and evaluation of the one for the same task, found by the name's ending.
OURS_PREFIX = 'sam_frozen/convtrans-ln_sam-vit-t-frozen_'
#: The tasks the baselines must cover, as the names end: '_<task>-576x1024.py'.
TASKS = ('football-adboard', 'football')
TINY_WIDTH = 32
CNN_DIVISOR = 8
INPUT = (64, 64)


@pytest.fixture(autouse=True, scope='module')
def one_torch_thread():
    """Run this module's models on one thread: the CPUs are shared with other jobs, and two
    torch threads competing with them were measured ~40x slower on small convolutions."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def discover() -> List[str]:
    return sorted(str(p.relative_to(CONFIG_ROOT)) for p in CONFIG_ROOT.rglob('*.py')
                  if '_base_' not in p.parts and '__pycache__' not in p.parts)


CONFIGS = discover()
COMPARED = [c for c in CONFIGS if c.split('/')[0] in ('baselines', 'hybrids', 'sam_detail')]
HYBRIDS = [c for c in CONFIGS if c.startswith('hybrids/')]


def folder(config: str) -> str:
    return str(Path(config).parent)


def task(config: str) -> str:
    """'football-adboard-576x1024' of '..._1xb2-500_football-adboard-576x1024.py'."""
    return Path(config).stem.rsplit('_', 1)[-1]


def ours_for(config: str) -> str:
    matches = [c for c in CONFIGS
               if c.startswith(OURS_PREFIX) and task(c) == task(config)]
    assert len(matches) == 1, f'{config}: expected one {OURS_PREFIX}*_{task(config)}.py, ' \
                              f'found {matches}'
    return matches[0]


def load_train_tool():
    spec = importlib.util.spec_from_file_location('train_tool', ROOT / 'tools' / 'train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def _load(config: str) -> Config:
    return Config.fromfile(str(CONFIG_ROOT / config))


def load(config: str, from_scratch: bool = False) -> Config:
    """A fresh copy of the config; ``from_scratch`` applies the documented switch."""
    cfg = copy.deepcopy(_load(config))
    return without_pretrained_weights(cfg) if from_scratch else cfg


def uses_sam(cfg: Config) -> bool:
    return cfg.model.backbone.type == 'SAMFrozenBackbone'


def _map_in_channels(node: Any, fn: Callable[[int], int]) -> None:
    """Apply ``fn`` to every ``in_channels``/``c1_in_channels`` below ``node`` (int or list)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ('in_channels', 'c1_in_channels'):
                node[key] = ([fn(c) for c in value] if isinstance(value, (list, tuple))
                             else fn(value))
            else:
                _map_in_channels(value, fn)
    elif isinstance(node, (list, tuple)):
        for item in node:
            _map_in_channels(item, fn)


def shrink(model_cfg: Dict) -> Dict:
    """The config's model, small enough to build and run on the CPU in a second or two.

    SAM ViTs keep depth and global-attention blocks at width 32 (head/neck inputs that were
    the ViT width follow); ResNets and UNet get 1/8 of their channels (every stage width is
    a multiple of ``base_channels``, so head/neck inputs are divided by 8 too); MMSeg's ViT
    keeps 2 layers; SegFormer's MiT-B0 is small already. Inputs are 64 x 64.
    """
    model_cfg = copy.deepcopy(model_cfg)
    backbone = model_cfg['backbone']
    parts = [model_cfg.get(k) for k in ('neck', 'decode_head', 'auxiliary_head')]
    model_cfg['data_preprocessor']['size'] = INPUT
    if backbone['type'] == 'SAMFrozenBackbone':
        arch = backbone['arch']
        if isinstance(arch, str) and arch in SAM_VIT_ARCHS:
            real = SAM_VIT_ARCHS[arch]
            backbone['arch'] = dict(embed_dim=TINY_WIDTH, depth=real['depth'], num_heads=2,
                                    global_attn_indexes=real['global_attn_indexes'],
                                    window_size=2)
            _map_in_channels(parts, lambda c: TINY_WIDTH if c == real['embed_dim'] else c)
        backbone.update(img_size=INPUT[0], init_cfg=None)
    elif backbone['type'] in ('ResNetV1c', 'UNet'):
        assert backbone.get('base_channels', 64) == 64, backbone
        backbone['base_channels'] = 64 // CNN_DIVISOR
        if backbone['type'] == 'ResNetV1c':
            backbone['stem_channels'] = 64 // CNN_DIVISOR
        _map_in_channels(parts, lambda c: c // CNN_DIVISOR)
    elif backbone['type'] == 'VisionTransformer':
        backbone.update(num_layers=2, img_size=INPUT)
    return model_cfg


def build(cfg: Config) -> torch.nn.Module:
    model = MODELS.build(shrink(cfg.model))
    return revert_sync_batchnorm(model)


def heads(model) -> list:
    found = [model.decode_head]
    if getattr(model, 'auxiliary_head', None) is not None:
        aux = model.auxiliary_head
        found += list(aux) if isinstance(aux, torch.nn.ModuleList) else [aux]
    return found


def assert_no_pretrained(node: Any, where: str) -> None:
    """No checkpoint left anywhere in the model config, so init_weights stays offline."""
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained':
            raise AssertionError(f'{where}: Pretrained init left: {node}')
        if node.get('pretrained') is not None:
            raise AssertionError(f'{where}: pretrained={node["pretrained"]!r} left')
        for key, value in node.items():
            assert_no_pretrained(value, f'{where}.{key}')
    elif isinstance(node, (list, tuple)):
        for index, item in enumerate(node):
            assert_no_pretrained(item, f'{where}[{index}]')


# ------------------------------------------------------------------------------ discovery
def test_every_config_folder_contributes():
    assert CONFIGS, 'no config found under configs/'
    contributing = {folder(c) for c in CONFIGS}
    missing = [f for f in REQUIRED_FOLDERS if f not in contributing]
    assert not missing, f'no config in configs/{missing}; found {sorted(contributing)}'
    # The baselines cover both tasks for each family.
    for family in ('unet-s5-d16_fcn', 'deeplabv3plus_r50-d8', 'segformer_mit-b0',
                   'pspnet_r50-d8'):
        names = [c for c in CONFIGS if c.startswith(f'baselines/{family}_')]
        assert sorted(task(c) for c in names) == sorted(f'{t}-576x1024' for t in TASKS), \
            (family, names)


# ------------------------------------------------------------------------------ build
@pytest.mark.parametrize('config', CONFIGS)
def test_config_builds(config):
    """Load (non-SAM configs with the from-scratch switch), build, initialise offline."""
    from_scratch = not uses_sam(load(config))
    cfg = load(config, from_scratch=from_scratch)
    assert 'mmseg_sam' in cfg.custom_imports.imports
    if from_scratch:
        assert_no_pretrained(cfg.model.to_dict(), 'model')
    if folder(config) in ('baselines', 'hybrids'):
        assert 'SyncBN' not in repr(cfg.model.to_dict()), f'{config}: SyncBN left; ' \
            f'single-GPU configs use BN'
    model = build(cfg)
    model.init_weights()  # random for SAM (init_cfg dropped), offline for the others

    dataset = DATASETS.get(cfg.test_dataloader.dataset.type)
    if 'classes' in dataset.METAINFO:
        num_classes = len(dataset.METAINFO['classes'])
    else:  # FolderSegDataset reads its classes from the data; the template name says binary
        binary = 'binary' in Path(config).name
        num_classes = 2 if binary else model.decode_head.num_classes
        assert binary or num_classes > 2, config
    for head in heads(model):
        assert head.num_classes == num_classes, f'{config}: {type(head).__name__}'
        sigmoid = any(getattr(loss, 'use_sigmoid', False) for loss in head.loss_decode) \
            if isinstance(head.loss_decode, torch.nn.ModuleList) else \
            getattr(head.loss_decode, 'use_sigmoid', False)
        if num_classes == 2:
            assert (head.out_channels, sigmoid, head.threshold) == (1, True, 0.5), config
        else:
            # Softmax CE, except where MMSeg's own recipe trains one sigmoid per class
            # (Fast-SCNN), which the baseline keeps.
            recipe_sigmoid = Path(config).name.startswith('fast-scnn')
            assert (head.out_channels, sigmoid) == (num_classes, recipe_sigmoid), config
    if folder(config) != '.':
        assert cfg.model.test_cfg == dict(mode='whole'), config
        # The name ends in the input size, '-<a>x<b>.py' (our football names put the width
        # first, MMSeg's the height: either order).
        size = re.search(r'-(\d+)x(\d+)\.py$', config)
        if size:
            expected = sorted(int(v) for v in size.groups())
            assert sorted(cfg.model.data_preprocessor.size) == expected, config


@pytest.mark.parametrize('config', COMPARED)
def test_same_data_budget_and_evaluation_as_ours(config):
    cfg, ours = load(config), load(ours_for(config))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator',
                'test_evaluator', 'train_cfg', 'val_cfg', 'test_cfg'):
        assert cfg[key] == ours[key], f'{config}: {key} differs from {ours_for(config)}'
    assert cfg.default_hooks.checkpoint == ours.default_hooks.checkpoint
    assert cfg.param_scheduler == [] or \
        max(s['end'] for s in cfg.param_scheduler) == cfg.train_cfg.max_iters


@pytest.mark.parametrize('config', COMPARED)
def test_official_pretrained_weights_are_kept_for_users(config):
    cfg = load(config)
    if uses_sam(cfg):
        assert cfg.model.backbone.init_cfg.checkpoint.startswith('https://')
        return
    sources = [cfg.model.get('pretrained'),
               (cfg.model.backbone.get('init_cfg') or {}).get('checkpoint')]
    sources = [s for s in sources if s]
    if cfg.model.backbone.type in ('UNet', 'FastSCNN'):
        assert not sources  # MMSeg trains these from scratch too
    else:
        assert len(sources) == 1 and sources[0].startswith(('open-mmlab://', 'https://'))


def test_from_scratch_switch_through_tools_train_and_a_child_config(tmp_path):
    """Both forms in baselines/README.md turn the weights off: the command line (MMEngine's
    DictAction reads 'None' as None) and a one-base child config."""
    config = CONFIG_ROOT / 'baselines/segformer_mit-b0_1xb2-500_football-adboard-576x1024.py'
    tool = load_train_tool()
    argv = [str(config), '--cfg-options', *WITHOUT_PRETRAINED_WEIGHTS_OPTIONS]
    cfg = tool.build_config(tool.parse_args(argv))
    assert cfg.model.pretrained is None and cfg.model.backbone.init_cfg is None
    child = tmp_path / 'scratch.py'
    child.write_text(f"_base_ = [{str(config)!r}]\n"
                     f"model = dict(pretrained=None, backbone=dict(init_cfg=None))\n")
    assert Config.fromfile(str(child)).model.backbone.init_cfg is None
    assert load(str(config.relative_to(CONFIG_ROOT))).model.backbone.init_cfg.checkpoint


# ------------------------------------------------------------------------------ run
@pytest.mark.parametrize('config', [c for c in CONFIGS if c.startswith('baselines/')
                                    and task(c) == 'football-adboard-576x1024'])
def test_binary_baseline_loss_and_predict(config):
    model = build(load(config, from_scratch=True))
    batch = model.data_preprocessor(seg_batch(2, size=INPUT), True)
    model.train()
    losses = model(**batch, mode='loss')
    assert any(k.startswith('aux') for k in losses) == model.with_auxiliary_head
    assert all(torch.isfinite(v).all() for k, v in losses.items() if 'loss' in k)
    model.eval()
    with torch.no_grad():
        predictions = model(**batch, mode='predict')
    assert predictions[0].pred_sem_seg.data.shape == (1, *INPUT)
    assert set(predictions[0].pred_sem_seg.data.unique().tolist()) <= {0, 1}


@pytest.mark.parametrize('config', HYBRIDS)
def test_hybrid_trains_two_iterations_and_predicts(config):
    cfg = load(config, from_scratch=not uses_sam(load(config)))
    model = build(cfg)
    model.init_weights()  # offline: no weights left to load
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)  # the config's recipe
    data = seg_batch(2, size=INPUT)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for _ in range(2):
        log_vars = model.train_step(data, optim_wrapper)
        assert torch.isfinite(torch.as_tensor(log_vars['loss']))
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert any(n.startswith('decode_head.') for n in changed), config
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert not frozen & changed, f'frozen parameters changed: {sorted(frozen & changed)[:3]}'
    if uses_sam(cfg):
        assert frozen, 'the SAM trunk should be frozen'
    model.eval()
    predictions = model.val_step(data)
    assert predictions[0].pred_sem_seg.data.shape == (1, *INPUT)
    assert set(predictions[0].pred_sem_seg.data.unique().tolist()) <= {0, 1}


def test_a_child_config_changing_the_subset_changes_the_subset(tmp_path):
    """The labelled-subset knobs are the dataset's own keys (no top-level variable in the
    base, which MMEngine resolves inside the base, so reassigning it in a child would change
    nothing): a child config that sets them changes the frames that are built."""
    from helpers import write_segmentation_tree

    from mmseg_sam.datasets.seeded_split import seeded_order
    data_root = write_segmentation_tree(tmp_path / 'data', {'train': 15}, size=(8, 8))
    config = CONFIG_ROOT / ('sam_frozen/'
                            'convtrans-ln_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py')
    child = tmp_path / 'child.py'
    child.write_text(f"_base_ = [{str(config)!r}]\n"
                     f"train_dataloader = dict(dataset=dict(size=3, seed=4, dataset=dict(\n"
                     f"    data_root={str(data_root)!r})))\n")
    dataset = DATASETS.build(Config.fromfile(str(child)).train_dataloader.dataset)
    names = [Path(dataset.get_data_info(i)['img_path']).name for i in range(len(dataset))]
    order = seeded_order(15, 4)[10:13]  # after the 10 held-out frames of the base
    assert names == [sorted(p.name for p in (data_root / 'img_dir/train').iterdir())[i]
                     for i in order]


def _file_bases(path: Path) -> List[Path]:
    """The config files ``path`` names in ``_base_``, MMSeg's packaged ``mmseg::`` ones left out."""
    text = path.read_text()
    match = re.search(r"^_base_\s*=\s*(\[.*?\]|'[^']*')", text, re.S | re.M)
    names = re.findall(r"'([^']+\.py)'", match.group(1)) if match else []
    return [(path.parent / name).resolve() for name in names if '::' not in name]


@pytest.mark.parametrize('config', CONFIGS)
def test_at_most_three_levels_and_one_arch(config):
    """MMSeg's rule: ``_base_`` components, a primitive config, at most one child of it. A
    component may build on another component, but a leaf never inherits from a config that
    itself inherits from a non-``_base_`` config; and no chain switches the SAM arch twice."""
    path = CONFIG_ROOT / config
    parents = [base for base in _file_bases(path) if '_base_' not in base.parts]
    assert len(parents) <= 1, f'{config} inherits several leaf configs: {parents}'
    for parent in parents:
        grand = [base for base in _file_bases(parent) if '_base_' not in base.parts]
        assert not grand, f'{config} -> {parent.name} -> {grand[0].name}: four levels'
    chain = [path, *parents]
    arches = [re.findall(r"arch='(vit_[bhlt])'", p.read_text()) for p in chain]
    assert sum(bool(a) for a in arches) <= 1, f'{config}: the arch is set in {len(arches)} files'
