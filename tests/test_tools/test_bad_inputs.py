# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Bad checkpoints at every entry point: named before work starts, refused, never executed.

One tiny trained model (2 iterations, random tiny encoder) serves every case:

* broken files (missing, empty, half a real checkpoint, text) fail in tools/test.py,
  tools/inference.py, tools/train.py --resume and load_from before anything is built, naming
  the file, the problem and the fix; MMSeg's init_model names the file too;
* a raw SAM/MobileSAM file or a checkpoint of another config fails to load, with the list of
  keys and the fix, instead of evaluating or training a partly random model;
* a crafted pickle that would create a marker file is refused on every load path, and the
  marker never appears.
"""
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from helpers import (
    TINY_VIT_ARCH,
    load_script,
    official_tiny_encoder,
    train_tiny_checkpoint,
    write_official_sam_checkpoint,
)

from mmseg_sam.models.backbones import SAMFrozenBackbone
from mmseg_sam.models.utils import CheckpointMismatchError
from mmseg_sam.utils.checkpoint_files import (
    CheckpointFileError,
    UnsafeCheckpointError,
    load_checkpoint_file,
)

BASE = 'configs/sam_frozen/convtrans-ln_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py'

class TouchMarker:
    """Unpickled without ``weights_only``, this creates the file ``path`` (``io.open``)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, 'w')


@pytest.fixture(scope='module')
def run(repo_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('bad_inputs')
    config, checkpoint, data_root = train_tiny_checkpoint(repo_root, BASE, tmp)
    tools = SimpleNamespace(**{name: load_script(repo_root / 'tools' / f'{name}.py')
                               for name in ('train', 'test', 'inference')})
    raw = write_official_sam_checkpoint(tmp / 'mobile_sam.pt', official_tiny_encoder(64))

    # Crafted files: a real checkpoint and a raw SAM file, each with a payload that runs
    # when unpickled without weights_only (checked here, so the tests below prove something).
    marker = tmp / 'marker'
    crafted = torch.load(checkpoint, map_location='cpu', weights_only=False)
    crafted['meta']['payload'] = TouchMarker(marker)
    torch.save(crafted, tmp / 'crafted.pth')
    crafted_raw = torch.load(raw, weights_only=True)
    crafted_raw['payload'] = TouchMarker(marker)
    torch.save(crafted_raw, tmp / 'crafted_sam.pth')
    torch.load(tmp / 'crafted.pth', weights_only=False)
    assert marker.exists()
    marker.unlink()
    return SimpleNamespace(tmp=tmp, config=str(config), checkpoint=checkpoint, raw=raw,
                           tools=tools, images=data_root / 'img_dir' / 'test', marker=marker,
                           crafted=tmp / 'crafted.pth', crafted_raw=tmp / 'crafted_sam.pth')


# ---------------------------------------------------------------------- broken files
BROKEN = {
    'missing': r'file not found: {path}',
    'empty': r'{path} is empty \(0 bytes\).*Fix: copy or download it again',
    'truncated': r'{path} is incomplete or damaged.*interrupted.*Fix: copy or download',
    'text': r"{path} is a text file, not a PyTorch checkpoint \(it starts with 'epoch"
            r".*Fix: pass a \.pth file written by tools/train\.py",
}


def broken_file(kind: str, run, tmp_path: Path) -> Path:
    path = tmp_path / f'{kind}.pth'
    if kind == 'empty':
        path.write_bytes(b'')
    elif kind == 'truncated':
        data = run.checkpoint.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    elif kind == 'text':
        path.write_text('epoch 2 done, loss 0.3\n')
    return path


@pytest.mark.parametrize('kind', sorted(BROKEN))
@pytest.mark.parametrize('entry', ['test', 'inference', 'resume', 'load_from'])
def test_broken_checkpoint_files_fail_before_work_starts(entry, kind, run, tmp_path, capsys):
    path = broken_file(kind, run, tmp_path)
    pattern = BROKEN[kind].format(path=path)
    work_dir = tmp_path / 'work'
    if entry == 'inference':
        out_dir = tmp_path / 'out'
        assert run.tools.inference.cli([run.config, str(path), str(run.images),
                                        '--out-dir', str(out_dir)]) == 1
        message = capsys.readouterr().err
        assert not out_dir.exists()
    else:
        argv = {'test': [run.config, str(path)],
                'resume': [run.config, '--resume', str(path)],
                'load_from': [run.config, '--cfg-options', f'load_from={path}']}[entry]
        tool = run.tools.test if entry == 'test' else run.tools.train
        with pytest.raises((FileNotFoundError, CheckpointFileError)) as error:
            tool.main([*argv, '--work-dir', str(work_dir)])
        message = str(error.value)
        assert not work_dir.exists()  # no Runner was built
    assert re.search(pattern, message, flags=re.S), message
    if kind != 'missing':  # the option that named the file
        assert {'test': 'CHECKPOINT', 'inference': 'CHECKPOINT', 'resume': '--resume',
                'load_from': 'load_from'}[entry] + f' {path}' in message


def test_auto_resume_checks_the_latest_checkpoint_of_the_work_dir(run, tmp_path):
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    latest = broken_file('truncated', run, work_dir)
    (work_dir / 'last_checkpoint').write_text(str(latest))
    with pytest.raises(CheckpointFileError, match=rf'--resume \(latest checkpoint of '
                                                  rf'{work_dir}\) {latest} is incomplete'):
        run.tools.train.main([run.config, '--resume', '--work-dir', str(work_dir)])
    assert sorted(p.name for p in work_dir.iterdir()) == ['last_checkpoint', 'truncated.pth']


@pytest.mark.parametrize('kind', ['empty', 'truncated', 'text'])
def test_init_model_names_a_broken_file(kind, run, tmp_path):
    from mmseg.apis import init_model
    path = broken_file(kind, run, tmp_path)
    with pytest.raises(CheckpointFileError, match=BROKEN[kind].format(path=path)):
        init_model(run.config, str(path), device='cpu')


# ---------------------------------------------------------------------- wrong checkpoints
RAW_HINT = (r"(?s)Checkpoint {path} does not fit model\.backbone \(SAMFrozenBackbone\).*"
            r'missing from the checkpoint \(\d+\):\n    backbone\.encoder\.pos_embed\n.*'
            r'\.\.\. and \d+ more\n.*taken by no module of the model \(\d+\):\n'
            r"    image_encoder\..*Its keys start with 'image_encoder\.': this is a raw SAM / "
            r"MobileSAM file.*model\.backbone\.init_cfg=dict\(type='Pretrained', "
            r'checkpoint=PATH\), not into load_from')


@pytest.mark.parametrize('entry', ['test', 'inference', 'init_model', 'inferencer',
                                   'load_from'])
def test_raw_sam_file_as_model_checkpoint_is_refused(entry, run, tmp_path, capsys):
    from mmseg.apis import MMSegInferencer, init_model
    pattern = RAW_HINT.format(path=run.raw)
    raw = str(run.raw)
    if entry == 'inference':
        assert run.tools.inference.cli([run.config, raw, str(run.images),
                                        '--out-dir', str(tmp_path / 'out')]) == 1
        message = capsys.readouterr().err
        assert re.search(pattern, message), message
        return
    calls = {
        'test': lambda: run.tools.test.main([run.config, raw, '--work-dir', str(tmp_path)]),
        'init_model': lambda: init_model(run.config, raw, device='cpu'),
        'inferencer': lambda: MMSegInferencer(model=run.config, weights=raw, device='cpu'),
        'load_from': lambda: run.tools.train.main([
            run.config, '--work-dir', str(tmp_path), '--cfg-options', f'load_from={raw}']),
    }
    with pytest.raises(CheckpointMismatchError, match=pattern) as error:
        calls[entry]()
    assert '\\n' not in str(error.value)


@pytest.mark.parametrize('entry, options, pattern', [
    # Another num_heads: same keys, other rel_pos shapes (MMEngine used to keep them random).
    ('test', ['model.backbone.arch.num_heads=1'],
     r'(?s)does not fit model\.backbone.*wrong shape \(4\):\n    backbone\.encoder\.blocks\.0\.'
     r'attn\.rel_pos_h: checkpoint \(3, 16\) vs model \(3, 32\).*Was this checkpoint trained '
     r'with this config\? model\.backbone\.arch'),
    ('resume', ['model.backbone.arch.num_heads=1'], r'(?s)does not fit model\.backbone.*'
                                                    r'wrong shape \(4\)'),
    ('inference', ['model.backbone.arch.num_heads=1'], r'(?s)wrong shape \(4\)'),
    # Another head (here narrower blocks): the fix says how to fine-tune from it.
    ('load_from', ['model.decode_head.block_channels=[128,64,32,8]'],
     r"(?s)does not fit model\.decode_head \(ConvTransposeLNHead\).*wrong shape \(\d+\):\n"
     r'    decode_head\.conv_seg\.weight: checkpoint \(1, 16, 1, 1\) vs model \(1, 8, 1, 1\)'
     r'.*load only its encoder: '
     r"model\.backbone\.init_cfg=dict\(type='Pretrained', checkpoint=PATH, "
     r"prefix='backbone\.encoder\.'\)"),
])
def test_checkpoint_of_another_config_is_refused(entry, options, pattern, run, tmp_path,
                                                 capsys):
    checkpoint = str(run.checkpoint)
    if entry == 'inference':
        assert run.tools.inference.cli([run.config, checkpoint, str(run.images), '--out-dir',
                                        str(tmp_path / 'out'), '--cfg-options', *options]) == 1
        assert re.search(pattern, capsys.readouterr().err)
        return
    work_dir = ['--work-dir', str(tmp_path / 'work')]
    argv = {'test': [run.config, checkpoint, *work_dir, '--cfg-options', *options],
            'resume': [run.config, '--resume', checkpoint, *work_dir, '--cfg-options',
                       'train_cfg.max_iters=3', *options],
            'load_from': [run.config, *work_dir, '--cfg-options', f'load_from={checkpoint}',
                          *options]}[entry]
    tool = run.tools.test if entry == 'test' else run.tools.train
    with pytest.raises(CheckpointMismatchError, match=pattern):
        tool.main(argv)
    assert not list((tmp_path / 'work').rglob('iter_*.pth'))  # nothing was trained on


def test_fine_tuning_from_another_head_loads_the_encoder_through_init_cfg(run):
    """The fix that the head's error gives works: the trained encoder (with its neck)."""
    backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64, init_cfg=dict(
        type='Pretrained', checkpoint=str(run.checkpoint), prefix='backbone.encoder.'))
    backbone.init_weights()
    trained = load_checkpoint_file(run.checkpoint, map_location='cpu')['state_dict']
    for name, value in backbone.encoder.state_dict().items():
        torch.testing.assert_close(value, trained[f'backbone.encoder.{name}'])


# ---------------------------------------------------------------------- crafted pickles
def _encoder_url(run, tmp_path, monkeypatch):
    """An https:// init_cfg checkpoint (MMEngine's own URL loader unpickles unsafely)."""
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    monkeypatch.setattr(torch.hub, 'download_url_to_file',
                        lambda url, dst, *args, **kwargs: shutil.copy(run.crafted_raw, dst))
    SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64, init_cfg=dict(
        type='Pretrained', checkpoint='https://example.invalid/sam_tiny.pth')).init_weights()


def _openmmlab_scheme(run, tmp_path, monkeypatch):
    """open-mmlab:// (MMSeg baselines) resolves a URL and downloads it through ours too."""
    from mmengine.runner import checkpoint as mmengine_checkpoint
    monkeypatch.setattr(mmengine_checkpoint, 'get_external_models',
                        lambda: dict(tiny='https://example.invalid/tiny.pth'))
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    monkeypatch.setattr(torch.hub, 'download_url_to_file',
                        lambda url, dst, *args, **kwargs: shutil.copy(run.crafted_raw, dst))
    mmengine_checkpoint.CheckpointLoader.load_checkpoint('open-mmlab://tiny')


def _init_model(run, tmp_path, monkeypatch):
    from mmseg.apis import init_model
    init_model(run.config, str(run.crafted), device='cpu')


CRAFTED_PATHS = {
    'tools/test.py': lambda run, tmp_path, monkeypatch: run.tools.test.main([
        run.config, str(run.crafted), '--work-dir', str(tmp_path / 'work')]),
    'init_model': _init_model,
    'train --resume': lambda run, tmp_path, monkeypatch: run.tools.train.main([
        run.config, '--resume', str(run.crafted), '--work-dir', str(tmp_path / 'work')]),
    'encoder init_cfg': lambda run, tmp_path, monkeypatch: SAMFrozenBackbone(
        arch=TINY_VIT_ARCH, img_size=64, init_cfg=dict(
            type='Pretrained', checkpoint=str(run.crafted_raw))).init_weights(),
    'encoder init_cfg URL': _encoder_url,
    'open-mmlab:// scheme': _openmmlab_scheme,
}


@pytest.mark.parametrize('path', sorted(CRAFTED_PATHS))
def test_crafted_pickle_is_refused_and_never_runs(path, run, tmp_path, monkeypatch):
    with pytest.raises(UnsafeCheckpointError, match=r'refused') as error:
        CRAFTED_PATHS[path](run, tmp_path, monkeypatch)
    assert not run.marker.exists()
    assert 'io.open' in str(error.value) and 'nothing of it was executed' in str(error.value)
    assert not (tmp_path / 'work').exists()  # the tools refuse before building a Runner


def test_crafted_feature_cache_file_is_refused_and_recomputed(run, tmp_path):
    """A file planted where the disk cache looks for an image's features never runs."""
    images = torch.randn(1, 3, 64, 64)
    backbone = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64,
                                 feature_cache=dict(disk_dir=str(tmp_path), max_memory_mb=0))
    backbone.eval()
    cache = backbone.feature_cache
    key = cache.make_key(images[0], backbone._cache_context(images))
    torch.save(dict(features=[torch.zeros(256, 4, 4)], digest='x',
                    payload=TouchMarker(run.marker)), cache._path(key))
    (features,) = backbone(images)
    assert not run.marker.exists()
    assert cache.stats['corrupt'] == 1  # refused, deleted, recomputed and written again:
    assert set(torch.load(cache._path(key), weights_only=True)) == {'features', 'digest'}
    uncached = SAMFrozenBackbone(arch=TINY_VIT_ARCH, img_size=64).eval()
    uncached.load_state_dict(backbone.state_dict())
    torch.testing.assert_close(features, uncached(images)[0], atol=1e-2, rtol=0)
