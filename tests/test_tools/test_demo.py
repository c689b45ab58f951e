# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""`make demo`'s script: which config it trains and how it refuses a wrong one (the full run
fetches real weights and data, so it is not part of the unit tests)."""
import pytest
from helpers import load_script

from mmseg_sam.utils.config_loading import load_config_file


@pytest.fixture(scope='module')
def demo(repo_root):
    return load_script(repo_root / 'tools/demo.py')


def test_demo_trains_the_detail_head_on_stare(demo):
    cfg = load_config_file(demo.DEMO_CONFIG)
    skips = cfg.model.decode_head.skips
    assert [skip['stride'] for skip in skips] == [4, 8]
    assert tuple(cfg.model.backbone.out_indices) == (0, 1)
    assert cfg.train_dataloader.dataset.type == 'STAREDataset'
    assert cfg.train_cfg.max_iters == 300


def test_missing_config_fails_before_any_download(demo, tmp_path, capsys, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError('fetched although the arguments are wrong')
    monkeypatch.setattr(demo, 'fetch_mobile_sam_weights', no_download)
    monkeypatch.setattr(demo, 'fetch_stare', no_download)
    with pytest.raises(SystemExit):
        demo.main(['--config', str(tmp_path / 'nope.py')])
    err = capsys.readouterr().err
    assert 'nope.py: no such file' in err and 'STARE_DATA_ROOT' in err
