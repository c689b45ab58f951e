# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Checkpoint files: broken ones are named with the fix, every load is weights-only."""
import copy
import pickle
from collections import OrderedDict

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

import mmseg_sam.safe_checkpoint_loading  # noqa: F401  (registers the loaders)
from mmseg_sam.models.utils import format_key_list
from mmseg_sam.utils.checkpoint_files import (
    SOURCE_KEY,
    CheckpointFileError,
    SourceMetadata,
    UnsafeCheckpointError,
    check_checkpoint_file,
    load_checkpoint_file,
)


@pytest.fixture()
def good(tmp_path):
    path = tmp_path / 'good.pth'
    torch.save(dict(state_dict=torch.nn.Linear(4, 3).state_dict(), meta=dict(iter=2)), path)
    return path


def write_bad(kind, tmp_path, good):
    """A broken checkpoint file of ``kind``; returns (path, pattern its error must match)."""
    path = tmp_path / f'{kind}.pth'
    if kind == 'empty':
        path.write_bytes(b'')
        return path, r'is empty \(0 bytes\).*Fix: copy or download it again'
    if kind == 'truncated':
        data = good.read_bytes()
        path.write_bytes(data[:len(data) // 2])
        return path, r'is incomplete or damaged.*interrupted.*Fix: copy or download it again'
    if kind == 'text':
        path.write_text('hello, this is not a checkpoint\n')
        return path, r"is a text file.*'hello, this.*Fix: pass a \.pth file written by"
    if kind == 'lfs':
        path.write_text('version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 9\n')
        return path, r'is a Git LFS pointer.*git lfs pull'
    if kind == 'html':
        path.write_text('<!DOCTYPE html><html><body>Sign in</body></html>')
        return path, r'is an HTML/XML page.*a download that saved an error'
    if kind == 'directory':
        path.mkdir()
        return path, r'is a directory'
    raise ValueError(kind)


BAD_KINDS = ['empty', 'truncated', 'text', 'lfs', 'html', 'directory']


@pytest.mark.parametrize('kind', BAD_KINDS)
def test_broken_files_are_named_with_the_problem_and_the_fix(kind, tmp_path, good):
    path, pattern = write_bad(kind, tmp_path, good)
    for call in (lambda: load_checkpoint_file(path, what='--resume'),
                 lambda: check_checkpoint_file(path, what='--resume'),
                 lambda: CheckpointLoader.load_checkpoint(str(path))):  # MMEngine's entry
        with pytest.raises(CheckpointFileError, match=pattern) as error:
            call()
        assert str(path) in str(error.value)
    with pytest.raises(CheckpointFileError, match=rf'^--resume {path} '):
        load_checkpoint_file(path, what='--resume')


def test_missing_file_and_non_dict_content(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'load_from file not found: .*nope\.pth \(check'):
        check_checkpoint_file(tmp_path / 'nope.pth', what='load_from')
    torch.save(torch.zeros(3), tmp_path / 'tensor.pth')
    with pytest.raises(CheckpointFileError, match=r'holds a Tensor, not a checkpoint dict'):
        check_checkpoint_file(tmp_path / 'tensor.pth')
    check_checkpoint_file('https://example.invalid/x.pth')  # URLs are left to the loader


def test_good_file_loads_and_names_its_source(good):
    checkpoint = CheckpointLoader.load_checkpoint(str(good), map_location='cpu')
    assert checkpoint['meta'] == dict(iter=2)
    metadata = checkpoint['state_dict']._metadata
    assert isinstance(metadata, SourceMetadata)
    # Every module prefix, known to the file or not, is told the file it is loaded from.
    assert metadata.get('')[SOURCE_KEY] == str(good)
    assert metadata.get('backbone.encoder', {})[SOURCE_KEY] == str(good)
    # ... and the class never reaches a file (it pickles as a plain OrderedDict).
    assert type(pickle.loads(pickle.dumps(metadata))) is OrderedDict
    assert type(copy.deepcopy(metadata)) is OrderedDict
    check_checkpoint_file(good)


def test_flat_state_dict_is_tagged_too(tmp_path):
    path = tmp_path / 'flat.pth'
    torch.save({'weight': torch.ones(2)}, path)
    state_dict = load_checkpoint_file(path)
    assert isinstance(state_dict, OrderedDict) and torch.equal(state_dict['weight'],
                                                               torch.ones(2))
    assert state_dict._metadata.source == str(path)


class Unknown:
    """No allow-list knows this class."""


def test_unknown_globals_are_refused_with_the_file_and_the_global(tmp_path):
    path = tmp_path / 'odd.pth'
    torch.save(dict(state_dict={}, meta=dict(thing=Unknown())), path)
    with pytest.raises(UnsafeCheckpointError, match=r'(?s)CHECKPOINT .*odd\.pth was refused.*'
                                                    r'Unknown.*nothing of it was executed'):
        load_checkpoint_file(path, what='CHECKPOINT')
    with pytest.raises(pickle.UnpicklingError):  # still the type torch raises
        CheckpointLoader.load_checkpoint(str(path))


def test_key_lists_are_capped_one_per_line():
    text = format_key_list('missing', [f'k{i}' for i in range(25)])
    assert text.splitlines() == ['  missing (25):', *[f'    k{i}' for i in range(10)],
                                 '    ... and 15 more']
    assert format_key_list('missing', []) == ''


# Torch adds globals of its own when submodules load lazily, so the probe counts only ours.
_PROBE = '''
import torch
from mmengine.runner.checkpoint import CheckpointLoader
before_loader = CheckpointLoader._schemes['']
import {module}
from mmseg_sam.utils.checkpoint_safety import checkpoint_safe_globals
ours = [entry[0] if isinstance(entry, tuple) else entry for entry in checkpoint_safe_globals()]
listed = [entry[0] if isinstance(entry, tuple) else entry
          for entry in torch.serialization.get_safe_globals()]
print(sum(any(entry is other for other in listed) for entry in ours),
      CheckpointLoader._schemes[''] is not before_loader,
      CheckpointLoader._schemes[''].__module__)
'''


@pytest.mark.parametrize('module, loaders_replaced', [
    ('mmseg_sam', False), ('mmseg_sam.safe_checkpoint_loading', True)])
def test_safe_loading_is_opt_in_and_never_widens_torchs_allow_list(module, loaders_replaced):
    """``import mmseg_sam`` leaves torch and MMEngine as they were; the opt-in module swaps
    MMEngine's loaders, and neither widens torch's process-wide allow-list."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, '-c', _PROBE.format(module=module)], check=True,
                         capture_output=True, text=True).stdout.split()
    assert out[0] == '0'
    assert out[1] == str(loaders_replaced)
    assert (out[2] == 'mmseg_sam.utils.checkpoint_files') == loaders_replaced


def test_allow_list_is_scoped_to_our_loads(tmp_path):
    """A checkpoint with MMEngine's message hub loads through our loader, while a plain
    ``torch.load`` in the same process still refuses the HistoryBuffer it pickles."""
    from mmengine.logging import HistoryBuffer
    path = tmp_path / 'hub.pth'
    buffer = HistoryBuffer()
    buffer.update(1.0)
    torch.save({'state_dict': {'w': torch.ones(1)}, 'meta': {'hub': buffer}}, path)
    assert load_checkpoint_file(path)['meta']['hub'].current() == 1.0
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        torch.load(path, weights_only=True)
