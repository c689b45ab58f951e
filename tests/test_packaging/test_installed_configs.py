# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""The wheel ships our configs, and a config in an unrelated folder inherits them.

Builds the wheel of this checkout (no network: no build isolation, no dependencies), installs
it into a fresh target folder, and in a separate process that sees that folder instead of the
checkout loads and builds a user's config that inherits a shipped template through
``mmseg_sam.config_path``.
"""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

USER_CONFIG = """
_base_ = [__import__('mmseg_sam').config_path(
    'folder/convtrans-ln_sam-vit-t-frozen_1xb2-500_folder-binary-1024x1024.py')]
model = dict(backbone=dict(
    arch=dict(_delete_=True, embed_dim=32, depth=2, num_heads=2, global_attn_indexes=(1,),
              window_size=2),
    img_size=64, init_cfg=None))
"""

CHECK = """
import sys
from pathlib import Path
from mmengine.config import Config
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules
import mmseg_sam
target = Path(sys.argv[1]).resolve()
assert Path(mmseg_sam.__file__).resolve().is_relative_to(target), mmseg_sam.__file__
cfg = Config.fromfile('user_config.py')
register_all_modules()
model = MODELS.build(cfg.model)
print('base', Path(cfg.filename).name, cfg.train_dataloader.dataset.dataset.type,
      type(model.backbone).__name__, type(model.decode_head).__name__,
      cfg.model.data_preprocessor.test_cfg, mmseg_sam.config_path('sam_adboard.py'))
"""


def test_wheel_ships_configs_that_a_config_elsewhere_inherits(repo_root, tmp_path):
    wheels = tmp_path / 'wheels'
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
                    '--no-build-isolation', '--no-index', '-w', str(wheels), str(repo_root)],
                   check=True, capture_output=True, cwd=tmp_path)
    wheel = next(wheels.glob('mmseg_sam-*.whl'))
    shipped = {Path(name).relative_to('mmseg_sam/configs').as_posix()
               for name in zipfile.ZipFile(wheel).namelist()
               if name.startswith('mmseg_sam/configs/')}
    in_repo = {p.relative_to(repo_root / 'configs').as_posix()
               for p in (repo_root / 'configs').rglob('*') if p.suffix in ('.py', '.md')}
    assert shipped == in_repo

    target = tmp_path / 'site'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--no-index',
                    '--target', str(target), str(wheel)], check=True, capture_output=True)
    project = tmp_path / 'my_project'  # unrelated to the checkout
    project.mkdir()
    (project / 'user_config.py').write_text(USER_CONFIG)
    (project / 'check.py').write_text(CHECK)
    done = subprocess.run([sys.executable, '-P', 'check.py', str(target)], cwd=project,
                          env={'PYTHONPATH': str(target), 'PATH': '/usr/bin:/bin'},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    words = done.stdout.split()
    assert words[1:6] == ['user_config.py', 'FolderSegDataset', 'SAMFrozenBackbone',
                          'ConvTransposeLNHead', "{'size':"]
    assert Path(words[-1]).resolve().is_relative_to(target.resolve())


def test_config_path_names_missing_configs():
    import mmseg_sam
    with pytest.raises(FileNotFoundError, match=r"no config 'folder/nope\.py'.*packaged_configs"):
        mmseg_sam.config_path('folder/nope.py')
    assert mmseg_sam.config_path('configs/sam_adboard.py') == mmseg_sam.config_path(
        'sam_adboard.py')
