# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""A content-addressed cache for the outputs of a frozen encoder.

A frozen encoder maps the same input to the same features in every epoch, so computing it
again is waste. Entries are keyed by a fingerprint of the exact input tensor (which covers
image content, resizing, normalisation and padding), plus a *context* string that the owner
builds from everything else that changes the output: the encoder weights' fingerprint, the
architecture, the requested outputs and the autocast state. A stale entry is therefore
impossible by construction: a different image or different weights give a different key.

Keys are computed where the input is (:meth:`FrozenFeatureCache.make_keys`): a CPU input is
hashed with blake2b over its bytes (read in place); an input on an accelerator gets an exact
integer fingerprint computed there with torch ops (:func:`device_fingerprints`), and only
that fingerprint (four integers per image) reaches the host. A hit never copies the input.

Storage: an in-memory LRU bounded in megabytes, optionally backed by a directory bounded in
megabytes too. Features are stored on the CPU (host memory is larger than device memory; a
hit copies the features, not the input, to the input's device) in ``storage_dtype`` (float16
by default: half the memory, and the effect on training loss is measured in the tests and the
README). Disk entries are ``torch.save`` files of a dict of tensors and a digest string, read
back with ``torch.load(weights_only=True)``, so a planted file cannot run code; they carry a
digest of their tensors, and a file that fails to load (or is refused) or fails to verify is
deleted and recomputed.

Whether the cache is used at all is its ``enabled`` setting ('auto', True, False); what
'auto' means for a training pipeline is decided in :mod:`.feature_cache_policy`.
"""
import hashlib
import os
import pickle
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmengine.logging import print_log

from ...utils.checkpoint_files import load_error_summary
from .feature_cache_policy import EnabledSetting, check_enabled_setting

Features = List[torch.Tensor]

_DTYPES = {'float32': torch.float32, 'float16': torch.float16, 'bfloat16': torch.bfloat16}


def tensor_digest(tensors: Features) -> str:
    """Hex digest of the raw bytes, shapes and dtypes of ``tensors`` (hashed on the CPU)."""
    hasher = hashlib.blake2b(digest_size=20)
    for tensor in tensors:
        tensor = tensor.detach().contiguous().cpu()
        hasher.update(f'{tuple(tensor.shape)}{tensor.dtype}'.encode())
        hasher.update(tensor.reshape(-1).view(torch.uint8).numpy())  # read in place
    return hasher.hexdigest()


#: Parameters of :func:`device_fingerprints`: the Mersenne prime 2**31 - 1, row length
#: 2**15 (so a row sum of 16-bit words times weights below P stays below 2**62), number of
#: independent fingerprints per input, and the seed of the weight tables.
FINGERPRINT_PRIME = 2**31 - 1
FINGERPRINT_ROW = 2**15
FINGERPRINT_COUNT = 4
FINGERPRINT_SEED = 0x5A3C0FFEE

_fingerprint_weights: Dict[Tuple[str, int], Tuple[torch.Tensor, torch.Tensor]] = {}


def _weight_tables(device: torch.device, rows: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Row weights (COUNT, rows) and column weights (COUNT, ROW), uniform in [0, PRIME).

    Drawn once per (device, rows) from a fixed seed on the CPU and moved to ``device``, so
    they are the same in every run (and a torch version that draws differently only turns
    disk entries into misses, never into wrong hits).
    """
    key = (str(device), rows)
    tables = _fingerprint_weights.get(key)
    if tables is None:
        generator = torch.Generator().manual_seed(FINGERPRINT_SEED)
        columns = torch.randint(0, FINGERPRINT_PRIME, (FINGERPRINT_COUNT, FINGERPRINT_ROW),
                                generator=generator)
        row_weights = torch.randint(0, FINGERPRINT_PRIME, (FINGERPRINT_COUNT, rows),
                                    generator=generator)
        tables = _fingerprint_weights[key] = (row_weights.to(device), columns.to(device))
    return tables


@torch.no_grad()
def device_fingerprints(images: torch.Tensor) -> List[Tuple[int, ...]]:
    """Exact integer fingerprints of each ``images[i]``, computed on ``images.device``.

    The bytes of one image are read as 16-bit words ``x`` (values < 2**16, zero-padded to a
    (rows, ROW) matrix ``X``); fingerprint ``j`` is ``a_j^T X b_j mod P`` with fixed weight
    vectors ``a_j`` (rows) and ``b_j`` (ROW) drawn uniformly from [0, P), P = 2**31 - 1.
    Everything is int64 arithmetic without overflow (a row sum is below ROW * 2**16 * P <
    2**63), so the result is exact and the same on every device. Only the (B, COUNT)
    fingerprints are copied to the host; the images are not.

    Why collisions are not a concern: the caller keys shape and dtype separately, so two
    distinct images compared here have the same length and a difference matrix ``D != 0``
    with entries of magnitude < 2**16 < P, hence ``D != 0`` mod P. ``a^T D b`` is then a
    non-zero polynomial of degree 2 in the weights, which vanishes for at most a fraction
    2/P of weight choices (Schwartz-Zippel); with COUNT = 4 independent pairs a given pair
    of images collides with probability <= (2/P)**4 < 2**-119. Even 10**7 distinct inputs
    (5 * 10**13 pairs) keep the chance of any collision below 2**-73. The weights are fixed
    but independent of the data, which is what the bound needs; this is not a cryptographic
    hash (inputs crafted against the known seed could collide), the same trust as the disk
    cache itself, which only holds files the user's own runs wrote.
    """
    if images.shape[0] == 0:
        return []
    flat = images.detach().contiguous().reshape(images.shape[0], -1)
    data = flat.view(torch.uint8) if flat.dtype != torch.uint8 else flat
    if data.shape[1] % 2:
        data = torch.cat([data, data.new_zeros(data.shape[0], 1)], dim=1)
    words = data.view(torch.int16)
    length = words.shape[1]
    rows = max(1, -(-length // FINGERPRINT_ROW))
    row_weights, column_weights = _weight_tables(images.device, rows)
    prime = FINGERPRINT_PRIME
    fingerprints = []
    for image_words in words:  # one image at a time: the int64 copy is 4x the input
        matrix = image_words.new_zeros(rows * FINGERPRINT_ROW, dtype=torch.int64)
        matrix[:length] = image_words
        matrix = matrix.bitwise_and_(0xFFFF).view(rows, FINGERPRINT_ROW)
        fingerprints.append(torch.stack([
            ((matrix * column_weights[j]).sum(dim=1) % prime * row_weights[j] % prime)
            .sum() % prime for j in range(FINGERPRINT_COUNT)]))
    return [tuple(values) for values in torch.stack(fingerprints).tolist()]


class FrozenFeatureCache:
    """Memory (and optionally disk) cache of per-image frozen-encoder features.

    Args:
        max_memory_mb: size limit of the in-memory LRU; 0 disables the memory level.
        disk_dir: directory for a persistent level, or None. Entries written there survive
            the process, so later runs with the same images and weights skip the encoder.
        max_disk_mb: size limit of the disk level; when full, new entries are not written.
        storage_dtype: 'float16', 'bfloat16' or 'float32'.
        enabled: 'auto' (default), True or False; kept as ``setting``. 'auto' is resolved
            for the training pipeline by ``FrozenFeatureCacheHook`` before training (see
            :func:`.feature_cache_policy.decide_feature_cache`); until then, and wherever no
            training pipeline exists (test, inference), it acts as True. True forces the
            cache on, False leaves it off.

    Attributes:
        setting: the configured ``enabled``.
        enabled: whether lookups happen now (a bool).
    """

    def __init__(self, max_memory_mb: float = 2048, disk_dir: Optional[str] = None,
                 max_disk_mb: float = 20480, storage_dtype: str = 'float16',
                 enabled: EnabledSetting = 'auto') -> None:
        if storage_dtype not in _DTYPES:
            raise ValueError(f'feature_cache storage_dtype={storage_dtype!r}; expected one of '
                             f'{sorted(_DTYPES)}')
        if max_memory_mb < 0 or max_disk_mb < 0:
            raise ValueError('feature_cache max_memory_mb and max_disk_mb must be >= 0')
        self.setting: EnabledSetting = check_enabled_setting(enabled)
        self.enabled = self.setting is not False
        self.storage_dtype = _DTYPES[storage_dtype]
        self.max_memory_bytes = int(max_memory_mb * 2**20)
        self.max_disk_bytes = int(max_disk_mb * 2**20)
        self.disk_dir = Path(disk_dir).expanduser() if disk_dir else None
        self._memory: OrderedDict[str, Features] = OrderedDict()
        self._memory_bytes = 0
        self._disk_bytes = 0
        self.stats: Dict[str, int] = dict(hits=0, misses=0, corrupt=0, evicted=0)
        if self.disk_dir is not None:
            self._prepare_disk_dir(self.disk_dir)
            self._disk_bytes = sum(p.stat().st_size for p in self.disk_dir.glob('*.pt'))

    @staticmethod
    def _prepare_disk_dir(disk_dir: Path) -> None:
        """Create ``disk_dir`` and make sure entries can be written there, now.

        Otherwise a path that is a file, or a folder without write permission, fails at the
        first cached batch with a bare ``FileExistsError`` / ``PermissionError``.
        """
        option = 'model.backbone.feature_cache.disk_dir'
        if disk_dir.exists() and not disk_dir.is_dir():
            raise ValueError(f'{option}={str(disk_dir)!r} is an existing file, not a folder. '
                             f'Fix: give a folder path (it is created if missing), or None '
                             f'to keep the cache in memory only.')
        try:
            disk_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ValueError(f'{option}={str(disk_dir)!r} cannot be created '
                             f'({error.strerror or error}). Fix: give a folder path that can '
                             f'be created (each parent a folder you may write to), or None '
                             f'to keep the cache in memory only.') from error
        if not os.access(disk_dir, os.W_OK | os.X_OK):
            raise ValueError(f'{option}={str(disk_dir)!r} is not writable. Fix: give a '
                             f'folder you may write to, or None to keep the cache in memory '
                             f'only.')

    @staticmethod
    def make_keys(images: torch.Tensor, context: str,
                  on_device: Optional[bool] = None) -> List[str]:
        """Keys of a batch of input images (B, C, H, W) under ``context``, one per image.

        Computed where the images are: on the CPU, blake2b over each image's bytes (read in
        place); elsewhere (``on_device``, default: not a CPU tensor), from
        :func:`device_fingerprints`, so the input never leaves its device. Both are exact
        functions of shape, dtype and bytes, stable within and across runs.
        """
        suffix = '-' + hashlib.blake2b(context.encode(), digest_size=8).hexdigest()
        if on_device is None:
            on_device = images.device.type != 'cpu'
        if not on_device:
            return [tensor_digest([image]) + suffix for image in images]
        header = f'{tuple(images.shape[1:])}{images.dtype}'
        return ['d' + hashlib.blake2b(f'{header}{values}'.encode(), digest_size=20).hexdigest()
                + suffix for values in device_fingerprints(images)]

    @classmethod
    def make_key(cls, image: torch.Tensor, context: str) -> str:
        """Key of one input image (C, H, W) under ``context`` (see :meth:`make_keys`)."""
        return cls.make_keys(image.unsqueeze(0), context)[0]

    def get(self, key: str) -> Optional[Features]:
        """Return the stored features of ``key`` (in storage dtype, on CPU) or None."""
        features = self._memory.get(key)
        if features is not None:
            self._memory.move_to_end(key)
        elif self.disk_dir is not None:
            features = self._read_disk(key)
            if features is not None:
                self._remember(key, features)
        self.stats['hits' if features is not None else 'misses'] += 1
        return features

    def put(self, key: str, features: Features) -> Features:
        """Store ``features`` of one image; return them as stored (storage dtype, CPU).

        Callers use the returned tensors rather than the originals so that the first epoch
        sees exactly what later epochs will read back.
        """
        stored = [f.detach().to('cpu', self.storage_dtype).contiguous() for f in features]
        self._remember(key, stored)
        if self.disk_dir is not None:
            self._write_disk(key, stored)
        return stored

    def __len__(self) -> int:
        return len(self._memory)

    def _remember(self, key: str, features: Features) -> None:
        size = sum(f.numel() * f.element_size() for f in features)
        if size > self.max_memory_bytes:
            return
        replaced = self._memory.pop(key, None)  # the same image twice in one batch
        if replaced is not None:
            self._memory_bytes -= sum(f.numel() * f.element_size() for f in replaced)
        self._memory[key] = features
        self._memory_bytes += size
        while self._memory_bytes > self.max_memory_bytes:
            _, evicted = self._memory.popitem(last=False)
            self._memory_bytes -= sum(f.numel() * f.element_size() for f in evicted)
            self.stats['evicted'] += 1

    def _path(self, key: str) -> Path:
        assert self.disk_dir is not None
        return self.disk_dir / f'{key}.pt'

    def _read_disk(self, key: str) -> Optional[Features]:
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            record = torch.load(path, map_location='cpu', weights_only=True)
            features = list(record['features'])
            if record['digest'] != tensor_digest(features):
                raise ValueError('digest mismatch')
            return features
        except Exception as error:  # any unreadable, refused or inconsistent file is recomputed
            self.stats['corrupt'] += 1
            reason = ('refused by weights-only loading: ' if isinstance(
                error, pickle.UnpicklingError) else '') + load_error_summary(error)
            print_log(f'feature cache: {path} is corrupt ({reason}); deleting and recomputing '
                      f'it', logger='current', level=30)
            if path.exists():
                self._disk_bytes -= path.stat().st_size
                path.unlink()
            return None

    def _write_disk(self, key: str, features: Features) -> None:
        path = self._path(key)
        if path.exists():
            return
        record = dict(features=features, digest=tensor_digest(features))
        # Write to a temporary file and rename, so a crash never leaves half a file under
        # a valid key (and a half file would be caught by the digest anyway).
        handle, temp_name = tempfile.mkstemp(dir=self.disk_dir, suffix='.tmp')
        with os.fdopen(handle, 'wb') as stream:
            torch.save(record, stream)
        size = os.path.getsize(temp_name)
        if self._disk_bytes + size > self.max_disk_bytes:
            os.unlink(temp_name)
            return
        os.replace(temp_name, path)
        self._disk_bytes += size


def build_feature_cache(cfg: Union[None, bool, dict]) -> Optional[FrozenFeatureCache]:
    """Build a cache from a config value.

    None/False -> no cache; True -> the defaults (``enabled='auto'``); a dict -> those
    :class:`FrozenFeatureCache` arguments (``enabled`` 'auto' unless given).
    """
    if cfg is None or cfg is False:
        return None
    if cfg is True:
        return FrozenFeatureCache()
    if isinstance(cfg, dict):
        return FrozenFeatureCache(**cfg)
    raise TypeError(f'feature_cache must be None, a bool or a dict of FrozenFeatureCache '
                    f'arguments, got {cfg!r}')
