# Copyright (c) invtoolbox contributors. All rights reserved.
"""The Python examples in the docs run as written, and the config excerpts
are what the files they name hold.

Every page's ``python`` blocks run in order in one namespace (blocks of a
page build on each other), from the repository root; pages whose examples
read files a user brings (an official checkpoint, the VGG weights) run in a
temporary folder that links the checkout's configs/ and demo/ and where
``USER_FILES`` writes those files first. A ``python`` block
with a title is an excerpt of that file (``test_config_excerpts``), or, when
no repository file has that name, a user file: it is not run as code but
written into the user's folder of the page (its ``cd DIR``, see
``doc_pages``), where the blocks after that ``cd`` run, as in a python
started there (the folder first on ``sys.path``).
"""
import contextlib
import sys

import pytest
import torch

from invtoolbox.registry import CONVERTERS, COUPLINGS, MODELS, TASKS
from tests.docs.doc_pages import (TAGS, blocks, code_lines, is_user_file,
                                  pages, python_examples, python_steps)
from tests.docs.user_files import official_irn_x4, user_folder
from tests.helpers import REPO_ROOT

PAGES = [page for page in pages() if python_examples(page)]


def vgg19_weights(folder):
    """vgg19.pth as the page makes it: a torchvision VGG19 state dict
    (random weights; the ImageNet ones need a download)."""
    from invtoolbox.models.losses import VGGFeatureExtractor
    vgg = VGGFeatureExtractor(arch='vgg19', layer_ids=('34', ),
                              pretrained=False)
    state = {f'features.{k.split(".", 1)[1]}': v
             for k, v in vgg.state_dict().items() if '.' in k}
    torch.save(state, folder / 'vgg19.pth')


#: page -> writes the files its examples read, as a user would bring them
USER_FILES = {
    'docs/irn.md': official_irn_x4,
    'docs/latents_and_losses.md': vgg19_weights,
    'docs/invisp.md': lambda folder: None,  # its example writes shot.dng
}


@contextlib.contextmanager
def registrations_undone():
    """Classes the examples register are removed again afterwards."""
    registries = (COUPLINGS, TASKS, CONVERTERS, MODELS)
    before = {}
    for registry in registries:
        registry.import_from_location()  # the lazy import, before the snapshot
        before[registry] = set(registry.module_dict)
    try:
        yield
    finally:
        for registry in registries:
            for name in set(registry.module_dict) - before[registry]:
                registry._module_dict.pop(name)


def test_every_block_has_a_tag():
    for page in pages():
        for block in blocks(page):
            assert block.tag in TAGS, (
                f'{page}:{block.line}: a code block needs one of the tags '
                f'{TAGS} (got {block.tag!r}); see tests/docs/doc_pages.py')
            assert block.title is None or block.tag == 'python', block[:3]


@pytest.mark.parametrize('page', PAGES)
def test_python_examples_run(page, monkeypatch, tmp_path):
    if page in USER_FILES:  # a checkout's folders, and the user's files
        for folder in ('configs', 'demo'):
            (tmp_path / folder).symlink_to(REPO_ROOT / folder)
        USER_FILES[page](tmp_path)
        start = tmp_path
    else:
        start = REPO_ROOT  # examples use repository paths (demo/...)
    own = user_folder(page, tmp_path / 'user')
    with registrations_undone(), monkeypatch.context() as patch:
        namespace = {'__name__': 'docs'}
        for step in python_steps(page):
            if step.cwd:  # a python started in the user's folder
                patch.chdir(tmp_path / 'user' / step.cwd)
                patch.syspath_prepend(str(own))
            else:
                patch.chdir(start)
            exec(compile(step.code, page, 'exec'), namespace)
    for name in [n for n, m in list(sys.modules.items())
                 if str(tmp_path) in str(getattr(m, '__file__', '') or '')]:
        sys.modules.pop(name)  # the user's package, imported from tmp


def test_every_page_with_python_runs():
    assert {'docs/degradations.md', 'docs/irn.md', 'docs/sain.md',
            'docs/latents_and_losses.md'} <= set(PAGES)


def test_inn_example_is_about_twenty_lines():
    first = python_examples('docs/inn.md')[0]
    lines = [line for line in first.splitlines() if line.strip()]
    assert len(lines) <= 22


# --------------------------------------------------------------------------
# Config excerpts (```python title="FILE"```)
EXCERPTS = [block for page in pages() for block in blocks(page)
            if block.title]

#: user configs shown whole on a page (user files): what they build, in
#: the page's user folder with its files and data
USER_CONFIGS = {
    'my_config.py': dict(page='docs/write_a_ric_task.md',
                         package='my_package',
                         task='AnaglyphEmbedding', images=2),
}


def is_subsequence(part, whole):
    rest = iter(whole)
    return all(any(line == other for other in rest) for line in part)


@pytest.mark.parametrize('block', EXCERPTS,
                         ids=lambda b: f'{b.page}:{b.line}')
def test_config_excerpts(block, tmp_path, monkeypatch):
    path = REPO_ROOT / block.title
    if path.is_file():
        code = code_lines(block.text)
        assert code and is_subsequence(code, code_lines(path.read_text())), (
            f'{block.page}:{block.line}: the excerpt is not in {block.title} '
            '(its lines, in this order)')
        return
    assert is_user_file(block)
    own = user_folder(block.page, tmp_path)  # written there, or fails
    if block.title not in USER_CONFIGS:  # a module the page's code imports
        assert (own / block.title).is_file()
        return
    user = USER_CONFIGS[block.title]
    assert user['page'] == block.page
    monkeypatch.chdir(own)
    monkeypatch.syspath_prepend(str(own))
    from mmengine.config import Config
    from invtoolbox.registry import DATASETS
    from invtoolbox.utils import register_all_modules
    register_all_modules()
    with registrations_undone():
        try:
            cfg = Config.fromfile(block.title)
            model = MODELS.build(cfg.model)
            datasets = [DATASETS.build(cfg[f'{split}_dataloader'].dataset)
                        for split in ('train', 'val', 'test')]
        finally:
            sys.modules.pop(user['package'], None)
    assert type(model.task).__name__ == user['task']
    for dataset in datasets:
        assert len(dataset) > 0
        assert dataset[0]['inputs'].shape[:2] == (user['images'], 3)
    for split in ('val', 'test'):  # mmengine wants all three or none
        assert cfg[f'{split}_evaluator'] is None or (
            cfg[f'{split}_dataloader'] and cfg[f'{split}_cfg']), split


def test_toml_fragment_is_the_plugin_entry_point():
    tomllib = pytest.importorskip('tomllib')  # Python 3.11+
    plugin = tomllib.loads(
        (REPO_ROOT / 'projects/example_plugin/pyproject.toml').read_text())
    fragments = [b for p in pages() for b in blocks(p) if b.tag == 'toml']
    assert len(fragments) == 2  # write_a_ric_task.md, the plugin's README
    for block in fragments:
        shown = tomllib.loads(block.text)['project']['entry-points']
        assert set(shown) == set(plugin['project']['entry-points']) == {
            'invtoolbox.plugins'}
    [shown] = [b for b in fragments if b.page.startswith('projects/')]
    assert tomllib.loads(shown.text) == {'project': {
        'entry-points': plugin['project']['entry-points']}}
    source = (REPO_ROOT / 'invtoolbox/utils/setup_env.py').read_text()
    assert 'invtoolbox.plugins' in source  # the group register_all_modules reads
