# Copyright (c) invtoolbox contributors. All rights reserved.
"""Every configs/<algo>/metafile.yml names existing configs and covers the
algorithm's training configs."""
import pytest
import yaml

from tests.helpers import REPO_ROOT

METAFILES = sorted((REPO_ROOT / 'configs').glob('*/metafile.yml'))


def test_metafiles_exist():
    names = {p.parent.name for p in METAFILES}
    assert {'irn', 'sain', 'iicnet'} <= names


@pytest.mark.parametrize('path', METAFILES, ids=lambda p: p.parent.name)
def test_metafile_configs(path):
    data = yaml.safe_load(path.read_text())
    models = data['Models']
    configs = [m['Config'] for m in models]
    assert len(set(m['Name'] for m in models)) == len(models)
    for config in configs:
        assert (REPO_ROOT / config).is_file(), config
    listed = {REPO_ROOT / c for c in configs}
    folder = path.parent
    # every DIV2K-scale / task config is described (quick starts and
    # test-only variants may be left out)
    for cfg in folder.glob('*.py'):
        if cfg.name.startswith('_') or 'quickstart' in cfg.name or \
                'sweep' in cfg.name:
            continue
        assert cfg in listed, f'{cfg.name} is not in {path.name}'
