# Copyright (c) invtoolbox contributors. All rights reserved.
"""Docs are run, not read: every command of a ``bash`` block in README.md,
docs/, configs/*/README.md and benchmarks/README.md is checked here, by
exactly one entry of ``COMMANDS`` (keyed by the command as the page shows it:
continuations joined, comments stripped, spaces collapsed):

- ``Run``: run literally in a subprocess as a user would (``python`` is this
  venv's interpreter, ``tools/*.sh`` run with bash, from the repository
  root, the environment unchanged but for the command's own ``VAR=value``
  prefixes), exit 0 and the output checked; after a ``cd DIR`` line of its
  page, from the user's folder ``DIR`` (a fresh folder outside the checkout
  holding the page's user files and data, ``user_files.user_folder``), with
  ``path/to/invtoolbox`` standing for the checkout;
- ``Substitute``: the same with the declared substitutions (placeholders
  and files a user brings, replaced by tiny real values; ``--cfg-options``
  that shrink a long training) and the declared appended options;
- ``ParseOnly``: not run, for the reason given; the script must exist and
  its argparse accept the argv, named configs must exist, and a target or
  package named must be there;
- ``RunBy``: already run by an existing test, which must exist.

A command missing from the table, or an entry that no page shows, fails.
The runs start together (two at a time on the 2 cores) when the first one
is awaited; commands that need another's output name it in ``after``.
"""
import importlib
import importlib.util
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Dict, NamedTuple, Optional, Sequence

import pytest
import torch

from tests.docs.doc_pages import CHECKOUT, bash_commands, pages
from tests.docs.user_files import (official_crm, official_iicnet_st01,
                                   official_invcompress_q1,
                                   official_invisp_nikon, official_irn_plus,
                                   official_novelview,
                                   official_irn_x2, official_irn_x4,
                                   official_sain_x2, user_folder)
from tests.helpers import HANG_TIMEOUT, REPO_ROOT, shared_path

SHARED = '../shared'


# --------------------------------------------------------------------------
# The kinds of check
class Run(NamedTuple):
    expect: Sequence[str] = ()  # in stdout + stderr
    files: Sequence[str] = ()  # written by the run ({root}: the run folder)


class Substitute(NamedTuple):
    replace: Dict[str, str]  # whole words of the command -> what runs
    options: Sequence[str] = ()  # appended to the command
    expect: Sequence[str] = ()
    files: Sequence[str] = ()
    setup: Optional[Callable[[Path], None]] = None  # writes user files
    after: Optional[str] = None  # the command whose output this one reads
    env: Optional[Dict[str, str]] = None  # set for the run ('{free_port}')


class ParseOnly(NamedTuple):
    reason: str


class RunBy(NamedTuple):
    test: str  # 'tests/<file>.py::<test function>'
    reason: str = ''


NV_QS_TRAIN = 'python tools/train.py configs/novelview/novelview_quickstart.py'
NV_QS_CKPT = 'work_dirs/novelview_quickstart/iter_1500.pth'
NV_CFG = 'configs/novelview/novelview_realestate10k.py'
NV_CKPT = 'checkpoints/novelview_stereo.pth'
NV_CONVERT = (
    'python tools/model_converters/convert_official.py NovelViewJPEG '
    'encoder=encoder_003_00015000.pth,decoder=decoder_003_00015000.pth '
    f'{NV_CKPT} --discriminator discriminator_003_00015000.pth')
NV_EMBED = f'python tools/infer.py embed {NV_CFG} {NV_CKPT} frame/ frame.jpg'
NV_FILES = {
    NV_CKPT: '{root}/nv/novelview_stereo.pth',
    'frame.jpg': '{root}/nv/frame.jpg',
}
REALESTATE10K = ('needs the RealEstate10K MPIs (a user download); the config '
                 'is built and its pipelines run on the official layout by '
                 'tests/configs/test_novelview_configs.py')


# --------------------------------------------------------------------------
# Shrinking options (--cfg-options) for the trainings and tests of full
# settings: a few iterations on the demo images / ../shared data
def _loader(prefix, root):
    return [f'{prefix}.dataset.data_root={root}', f'{prefix}.num_workers=0',
            f'{prefix}.persistent_workers=False']


#: one 64x64 crop of a demo image: the evaluation set of the shrunk runs
TINY_SR = '{root}/tiny_sr'
#: one 7-frame clip of 64x64 crops of ../shared/data/video
TINY_VIDEO = '{root}/tiny_video'


def make_tiny_data(root):
    from PIL import Image
    (root / 'tiny_sr').mkdir()
    Image.open(REPO_ROOT / 'demo/data/val/kodim03_crop.png').crop(
        (64, 64, 128, 128)).save(root / 'tiny_sr' / 'kodim03_64.png')
    clip = root / 'tiny_video' / 'clip'
    clip.mkdir(parents=True)
    for frame in sorted(shared_path('data', 'video',
                                    'vimeo_00001_0002').glob('im*.png')):
        Image.open(frame).crop((0, 0, 64, 64)).save(clip / frame.name)


def copy_demo_clips(root):
    """A user's clip folder: two demo train clips, one val clip."""
    import shutil
    clips = REPO_ROOT / 'demo' / 'data' / 'videos'
    for split, name in (('train', 'clic_00_0'), ('train', 'clic_01_0'),
                        ('val', 'kodim05')):
        shutil.copytree(clips / split / name,
                        root / 'my_clips' / split / name)


def one_coupling_weights(root):
    """``my_weights.pth``: an IRN x2 of one coupling, loaded partially into
    the quick start (two couplings)."""
    from mmengine.config import Config

    from invtoolbox.apis import init_model, save_checkpoint_atomic
    cfg = Config.fromfile(str(REPO_ROOT / 'configs/irn/irn_x2_quickstart.py'))
    cfg.model.generator.block_num = [1]
    model = init_model(cfg)
    (root / 'partial').mkdir()
    save_checkpoint_atomic(
        dict(meta={}, state_dict=model.state_dict()),
        root / 'partial' / 'my_weights.pth')


VIDEO_QS_TRAIN = 'python tools/train.py configs/iicnet/video_embed_quickstart.py'
VIDEO_QS_TINY = ['--cfg-options', 'train_cfg.max_iters=2',
                 'train_cfg.val_interval=2',
                 'default_hooks.checkpoint.interval=2']


def sr_options(train_root='demo/data/train', eval_root=TINY_SR,
               test_sets=5, iters=1):
    options = ['--cfg-options', f'train_cfg.max_iters={iters}',
               f'train_cfg.val_interval={iters}',
               f'default_hooks.checkpoint.interval={iters}',
               'train_dataloader.batch_size=2']
    options += _loader('train_dataloader', train_root)
    for i in range(2):
        options += _loader(f'val_dataloader.{i}', eval_root)
    for i in range(test_sets):
        options += _loader(f'test_dataloader.{i}', eval_root)
    return options


def sr_test_options(eval_root=TINY_SR):
    options = ['--cfg-options']
    for i in range(5):
        options += _loader(f'test_dataloader.{i}', eval_root)
    return options


VIDEO_TEST = [
    '--cfg-options', f'test_dataloader.0.dataset.data_root={TINY_VIDEO}',
    'test_dataloader.0.dataset.layout=folders',
    'test_dataloader.0.dataset.frame_step=1',
    'test_dataloader.0.num_workers=0',
]

# --------------------------------------------------------------------------
# The table: every documented command and how it is checked
QUICKSTART_TRAIN = 'python tools/train.py configs/irn/irn_x2_quickstart.py'
IRN_X2_CONVERT = ('python tools/model_converters/convert_official.py IRN_x2 '
                  'IRN_x2.pth checkpoints/irn_x2.pth')
IRN_X4_CONVERT = ('python tools/model_converters/convert_official.py IRN_x4 '
                  'IRN_x4.pth checkpoints/irn_x4.pth')
SAIN_CONVERT = ('python tools/model_converters/convert_official.py '
                'SAINx2_JPEG SAINx2_JPEG.pth checkpoints/sain_x2_jpeg.pth')
ST01_CONVERT = ('python tools/model_converters/convert_official.py '
                'IICNet_st-01 latest.pth iicnet_st-01.pth')
IRN_TRAIN = 'python tools/train.py configs/irn/irn_x2_div2k.py'
SAIN_TRAIN = 'python tools/train.py configs/sain/sain_x2_jpeg_div2k.py'
BENCHMARK_RESULTS = ('runs for minutes; its results and how they were '
                     'produced are in docs/benchmarks.md')
TEST_TABLE = ('test results:', )
INVISP_CONVERT = ('python tools/model_converters/convert_official.py '
                  'InvISP_nikon nikon.pth checkpoints/invisp_nikon.pth')
INVISP_RENDER = ('python tools/infer.py render '
                 'configs/invisp/invisp_nikon_fivek.py '
                 'checkpoints/invisp_nikon.pth raw/ jpg/')
FIVEK = ('needs the MIT-Adobe FiveK DNGs of the camera (a user download); '
         'the config is built and its pipeline run on synthetic DNGs by '
         'tests/configs/test_invisp_configs.py')

INVC_QS_TRAIN = ('python tools/train.py '
                 'configs/invcompress/invcompress_quickstart.py')
INVC_QS_CKPT = 'work_dirs/invcompress_quickstart/iter_1000.pth'
INVC_CONVERT = ('python tools/model_converters/convert_official.py '
                'InvCompress_q1 q1.pth.tar checkpoints/invcompress_q1.pth')
INVC_Q1 = 'configs/invcompress/invcompress_q1_mse_flicker.py'
INVC_ENCODE = (f'python tools/codec.py encode {INVC_Q1} '
               'checkpoints/invcompress_q1.pth photo.png photo.itb')
INVC_QS_ENCODE = ('python tools/codec.py encode '
                  'configs/invcompress/invcompress_quickstart.py '
                  f'{INVC_QS_CKPT} demo/kodim23_crop.png kodim23.itb')


def kodak_subset(folder, names=('kodim03.png', 'kodim23.png')):
    """Two Kodak images: what a user's folder of photos would hold (the
    page names all 24; two keep the run short)."""
    import shutil
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(shared_path('data', 'kodak', name), folder / name)


def invcompress_images(root, count=1, size=192):
    """``count`` crops of the demo Kodak images in ``root`` (a stand-in
    for the Kodak folder)."""
    from PIL import Image
    root.mkdir(parents=True, exist_ok=True)
    for path in sorted((REPO_ROOT / 'demo/data/val').glob('*.png'))[:count]:
        Image.open(path).crop((0, 0, size, size)).save(root / path.name)


RIC_TRAIN = 'PYTHONPATH=. python path/to/invtoolbox/tools/train.py my_config.py'
RIC_SHORT = ['--cfg-options', 'train_cfg.max_iters=1',
             'train_cfg.val_interval=1', 'default_hooks.checkpoint.interval=1']


COMMANDS = {
    # README.md: quick start
    'make quickstart': ParseOnly(
        'creates .venv and trains 1000 iterations (~5 CPU min); its recipe '
        'is `python tools/train.py configs/irn/irn_x2_quickstart.py`, run '
        'below with 2 iterations'),
    'make test': ParseOnly('the whole test suite, this test included'),
    'source .venv/bin/activate': ParseOnly(
        'changes the user\'s shell; the tools\' use of .venv without it is '
        'run by tests/tools/test_repo_venv.py'),
    'make test-fast': ParseOnly(
        'the test suite without its e2e tests, this file\'s checks included'),
    'bash .ci/run': ParseOnly('make test in a fresh .venv: what CI runs'),
    'pip install torch==2.13.0': ParseOnly('installs a package'),
    'pip install -e ".[tests]"': ParseOnly('installs the package'),
    QUICKSTART_TRAIN: Substitute(
        {}, ['--work-dir', '{root}/quickstart', '--cfg-options',
             'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
             'default_hooks.checkpoint.interval=2'],
        expect=('Bicubic_PSNR_Y', 'demo_val/PSNR_Y'),
        files=('{root}/quickstart/iter_2.pth', )),
    # docs/tools.md, partial load
    'python tools/train.py configs/irn/irn_x2_quickstart.py --cfg-options '
    'load_from=my_weights.pth load_strict=False': Substitute(
        {'load_from=my_weights.pth': 'load_from={root}/partial/my_weights.pth'},
        ['--work-dir', '{root}/partial', '--cfg-options',
         'train_cfg.max_iters=1'],
        setup=one_coupling_weights,
        expect=('partial load (load_strict=False)',
                'generator.blocks.2.F.conv1.weight'),
        files=('{root}/partial/iter_1.pth', )),
    'python tools/test.py configs/irn/irn_x2_quickstart.py '
    'work_dirs/irn_x2_quickstart/iter_1000.pth': Substitute(
        {'work_dirs/irn_x2_quickstart/iter_1000.pth':
         '{root}/quickstart/iter_2.pth'},
        ['--work-dir', '{root}/quickstart_test'],
        expect=TEST_TABLE + ('Bicubic_PSNR_Y', ), after=QUICKSTART_TRAIN),
    'python -m pytest': ParseOnly('the whole test suite, this test included'),
    'python -m benchmarks.benchmark_inn': RunBy(
        'tests/benchmarks/test_benchmark_inn.py::'
        'test_benchmark_prints_a_table', 'at a tiny size'),
    # docs/benchmarks.md (and benchmarks/README.md)
    'python -m benchmarks.benchmark_inn --repeats 2': ParseOnly(
        BENCHMARK_RESULTS),
    'python -m benchmarks.benchmark_irn --repeats 5': ParseOnly(
        BENCHMARK_RESULTS),
    'python -m benchmarks.benchmark_diffjpeg --data-root '
    '../shared/data/kodak': ParseOnly(BENCHMARK_RESULTS),
    'python tools/analysis_tools/bicubic_baseline.py ../shared/data/set5 '
    '--protocol matlab': Run(expect=('PSNR', 'x2')),
    'python tools/analysis_tools/bicubic_baseline.py ../shared/data/set14 '
    '--protocol matlab': Run(expect=('PSNR', 'x2')),
    'python -m benchmarks.iicnet_training_curve --iters 600 '
    '--eval-interval 100 --blocks 3 --rel-channels 16 --growth 16 --crop 48 '
    '--batch 4 --lr 1e-3 --out-dir work_dirs/iicnet_curve --plot '
    'docs/figures/iicnet_video3_training_curve.png': ParseOnly(
        BENCHMARK_RESULTS),
    'python -m benchmarks.compare_codec_robustness --budget-min 8 --plot '
    'docs/figures/irn_vs_sain_kodak_jpeg.png --json '
    'docs/figures/irn_vs_sain_kodak_jpeg.json': ParseOnly(
        'trains IRN and SAIN for 8 minutes each; ' + BENCHMARK_RESULTS),
    'python -m benchmarks.benchmark_sain --batch 4 --size 128 --repeats 3 '
    '--warmup 1': ParseOnly(BENCHMARK_RESULTS),
    'python -m benchmarks.benchmark_sain_codec --batch 4 --size 128 '
    '--repeats 3 --warmup 1': ParseOnly(BENCHMARK_RESULTS),
    'python -m benchmarks.benchmark_iicnet --threads 1 --repeats 2 '
    '--warmup 1': ParseOnly(BENCHMARK_RESULTS),
    'python -m benchmarks.benchmark_diffjpeg --data-root '
    '../shared/data/kodak --variants': ParseOnly(
        'about 7 minutes; ' + BENCHMARK_RESULTS),
    'python -m benchmarks.benchmark_irn --repeats 1 --size 32': Run(
        expect=('| invtoolbox, plain |', 'invtoolbox / baseline: time')),
    'python -m benchmarks.benchmark_irn --device cuda': ParseOnly(
        'needs a CUDA GPU'),
    'python -m benchmarks.benchmark_invisp --size 32 --repeats 1 --warmup 0 '
    '--impls restatement channels_last': Run(
        expect=('| official re-statement |',
                '| channels_last (weights + input) |')),
    'python -m benchmarks.benchmark_invisp --size 256 --repeats 1 '
    '--warmup 1 --rounds 2 --impls restatement invtoolbox invtoolbox_nchw '
    'invtoolbox_memory_efficient': ParseOnly(
        'four 256x256 steps of 12-45 s per row; ' + BENCHMARK_RESULTS),
    # docs/datasets_and_runtime.md
    'python tools/train.py CONFIG --cfg-options '
    'train_dataloader.dataset.data_root=/data/DIV2K/DIV2K_train_HR '
    'test_dataloader.0.dataset.data_root=/data/Set5': Substitute(
        {'CONFIG': 'configs/irn/irn_x2_div2k.py',
         'train_dataloader.dataset.data_root=/data/DIV2K/DIV2K_train_HR':
         'train_dataloader.dataset.data_root=demo/data/train',
         'test_dataloader.0.dataset.data_root=/data/Set5':
         f'test_dataloader.0.dataset.data_root={SHARED}/data/set5'},
        [word for word in sr_options(test_sets=0)[1:]
         if not word.startswith('train_dataloader.dataset.data_root')]
        + ['--work-dir', '{root}/data_roots'],
        expect=('Set5/PSNR_Y', ), files=('{root}/data_roots/iter_1.pth', )),
    # README.md (your own video clips), configs/iicnet/README.md
    VIDEO_QS_TRAIN: Substitute(
        {}, ['--work-dir', '{root}/video_qs'] + VIDEO_QS_TINY,
        expect=('demo_clips_val/embed_PSNR',
                'demo_clips_val/Baseline_restored_noref_PSNR'),
        files=('{root}/video_qs/iter_2.pth', )),
    f'{VIDEO_QS_TRAIN} --data-root my_clips': Substitute(
        {'my_clips': '{root}/my_clips'},
        ['--work-dir', '{root}/video_qs_own'] + VIDEO_QS_TINY,
        setup=copy_demo_clips,
        expect=('Iter(val) [3/3]', 'my_clips_val/restored_noref_PSNR'),
        files=('{root}/video_qs_own/iter_2.pth', )),
    'python tools/test.py configs/iicnet/video_embed_quickstart.py '
    'work_dirs/video_embed_quickstart/iter_300.pth': Substitute(
        {'work_dirs/video_embed_quickstart/iter_300.pth':
         '{root}/video_qs/iter_2.pth'},
        ['--work-dir', '{root}/video_qs_test'],
        expect=TEST_TABLE + ('Baseline_restored_noref_PSNR', ),
        after=VIDEO_QS_TRAIN),
    # docs/iicnet.md, configs/iicnet/README.md
    'python tools/train.py configs/iicnet/video_embed.py': RunBy(
        'tests/configs/test_iicnet_configs_run.py::'
        'test_config_trains_on_small_data', 'every config, on small data'),
    'tools/dist_train.sh configs/iicnet/video_embed.py 2': RunBy(
        'tests/configs/test_iicnet_configs_run.py::'
        'test_dist_train_video_embed_on_cpu', 'on small data'),
    ST01_CONVERT: Substitute(
        {'latest.pth': '{root}/st01/latest.pth',
         'iicnet_st-01.pth': '{root}/st01/iicnet_st-01.pth'},
        setup=lambda root: official_iicnet_st01(root / 'st01'),
        expect=('wrote', ), files=('{root}/st01/iicnet_st-01.pth', )),
    'python tools/model_converters/convert_official.py IICNet_st-01 '
    'latest.pth st-01_invtoolbox.pth': Substitute(
        {'latest.pth': '{root}/st01b/latest.pth',
         'st-01_invtoolbox.pth': '{root}/st01b/st-01_invtoolbox.pth'},
        setup=lambda root: official_iicnet_st01(root / 'st01b'),
        expect=('wrote', ), files=('{root}/st01b/st-01_invtoolbox.pth', )),
    'python tools/test.py configs/iicnet/video_embed.py CHECKPOINT': Substitute(
        {'CHECKPOINT': '{root}/st01/iicnet_st-01.pth'},
        ['--work-dir', '{root}/st01_test'] + VIDEO_TEST,
        expect=TEST_TABLE + ('embed_PSNR', ), after=ST01_CONVERT),
    'python tools/train.py configs/iicnet/video_embed.py --work-dir '
    'work_dirs/video_try --cfg-options train_cfg.max_iters=20 '
    'train_cfg.val_interval=20 default_hooks.checkpoint.interval=20 '
    'model.generator.block_num=2 model.generator.rel_channels=16 '
    'model.generator.subnet.growth=16 train_dataloader.num_workers=0 '
    'train_dataloader.persistent_workers=False val_dataloader.0.num_workers=0 '
    'val_dataloader.0.persistent_workers=False '
    'train_dataloader.dataset.datasets.0.data_root=$V '
    'train_dataloader.dataset.datasets.0.layout=folders '
    'train_dataloader.dataset.datasets.0.frame_step=1 '
    'train_dataloader.dataset.datasets.0.pipeline.1.crop_size=64 '
    'train_dataloader.dataset.datasets.1.data_root=$V '
    'train_dataloader.dataset.datasets.1.layout=folders '
    'train_dataloader.dataset.datasets.1.frame_step=1 '
    'train_dataloader.dataset.datasets.1.pipeline.1.crop_size=64 '
    'val_dataloader.0.dataset.data_root=$V '
    'val_dataloader.0.dataset.layout=folders '
    'val_dataloader.0.dataset.frame_step=1': Substitute(
        {'work_dirs/video_try': '{root}/video_try'},
        expect=('DAVIS_val/embed_PSNR', 'DAVIS_val/restored_PSNR'),
        files=('{root}/video_try/iter_20.pth', )),
    'python tools/train.py configs/iicnet/mono_binocular.py --work-dir '
    'work_dirs/mono_try --cfg-options train_cfg.max_iters=20 '
    'train_cfg.val_interval=20 model.generator.block_num=2 '
    'model.generator.rel_channels=16 model.generator.subnet.growth=16 '
    'train_dataloader.dataset.pipeline.1.crop_size=64 '
    'train_dataloader.num_workers=0 train_dataloader.persistent_workers=False '
    'val_dataloader.0.num_workers=0 val_dataloader.0.persistent_workers=False '
    'train_dataloader.dataset.data_root=$S '
    'val_dataloader.0.dataset.data_root=$S val_dataloader.0.dataset.indices=1 '
    'train_dataloader.dataset.left=left.png '
    'train_dataloader.dataset.right=right.png '
    'val_dataloader.0.dataset.left=left.png '
    'val_dataloader.0.dataset.right=right.png': Substitute(
        {'work_dirs/mono_try': '{root}/mono_try'},
        expect=('Flickr1024_val/embed_PSNR', 'Flickr1024_val/left_PSNR'),
        files=('{root}/mono_try/iter_20.pth', )),
    # docs/irn.md, docs/official_checkpoints.md, configs/irn/README.md
    'python tools/model_converters/convert_official.py --list': Run(
        expect=('IRN_x2', 'SAINx2_JPEG', 'IICNet_st-01')),
    IRN_X2_CONVERT: Substitute(
        {'IRN_x2.pth': '{root}/IRN_x2.pth',
         'checkpoints/irn_x2.pth': '{root}/checkpoints/irn_x2.pth'},
        setup=official_irn_x2, expect=('wrote', ),
        files=('{root}/checkpoints/irn_x2.pth', )),
    'python tools/model_converters/convert_official.py IRN+_x4 IRN+_x4.pth '
    'irnp_x4.pth --discriminator 400000_D.pth': Substitute(
        {'IRN+_x4.pth': '{root}/IRN+_x4.pth',
         'irnp_x4.pth': '{root}/irnp_x4.pth',
         '400000_D.pth': '{root}/400000_D.pth'},
        setup=official_irn_plus, expect=('wrote', ),
        files=('{root}/irnp_x4.pth', )),
    'python tools/model_converters/convert_official.py CRM_x2_q90 '
    'CRM_x2_q90.pth irn_crm_x2_q90.pth --generator IRN_x2_finetune.pth':
    Substitute(
        {'CRM_x2_q90.pth': '{root}/CRM_x2_q90.pth',
         'irn_crm_x2_q90.pth': '{root}/irn_crm_x2_q90.pth',
         'IRN_x2_finetune.pth': '{root}/IRN_x2_finetune.pth'},
        setup=official_crm, expect=('wrote', ),
        files=('{root}/irn_crm_x2_q90.pth', )),
    IRN_X4_CONVERT: Substitute(
        {'IRN_x4.pth': '{root}/IRN_x4.pth',
         'checkpoints/irn_x4.pth': '{root}/checkpoints/irn_x4.pth'},
        setup=official_irn_x4, expect=('wrote', ),
        files=('{root}/checkpoints/irn_x4.pth', )),
    'python tools/test.py configs/irn/irn_x4_div2k.py checkpoints/irn_x4.pth':
    Substitute(
        {'checkpoints/irn_x4.pth': '{root}/checkpoints/irn_x4.pth'},
        ['--work-dir', '{root}/irn_x4_test'] + sr_test_options(),
        expect=TEST_TABLE + ('PSNR_Y', ), after=IRN_X4_CONVERT),
    IRN_TRAIN: Substitute(
        {}, ['--work-dir', '{root}/irn_x2'] + sr_options(),
        expect=('Set5/PSNR_Y', ), files=('{root}/irn_x2/iter_1.pth', )),
    'python tools/test.py configs/irn/irn_x2_div2k.py '
    'work_dirs/irn_x2_div2k/iter_500000.pth': Substitute(
        {'work_dirs/irn_x2_div2k/iter_500000.pth': '{root}/irn_x2/iter_1.pth'},
        ['--work-dir', '{root}/irn_x2_test'] + sr_test_options(),
        expect=TEST_TABLE + ('Urban100', ), after=IRN_TRAIN),
    'python tools/test.py configs/irn/irn_x2_div2k.py checkpoints/irn_x2.pth':
    Substitute(
        {'checkpoints/irn_x2.pth': '{root}/checkpoints/irn_x2.pth'},
        ['--work-dir', '{root}/irn_x2_official_test'] + sr_test_options(),
        expect=TEST_TABLE + ('Urban100', ), after=IRN_X2_CONVERT),
    # docs/sain.md, configs/sain/README.md
    SAIN_TRAIN: Substitute(
        {}, ['--work-dir', '{root}/sain_x2'] + sr_options(),
        expect=('Set5/PSNR_Y', ), files=('{root}/sain_x2/iter_1.pth', )),
    'python tools/test.py configs/sain/sain_x2_jpeg_div2k.py '
    'work_dirs/sain_x2_jpeg_div2k/iter_500000.pth': Substitute(
        {'work_dirs/sain_x2_jpeg_div2k/iter_500000.pth':
         '{root}/sain_x2/iter_1.pth'},
        ['--work-dir', '{root}/sain_x2_test'] + sr_test_options(),
        expect=('JPEG-30', 'JPEG-90'), after=SAIN_TRAIN),
    'python tools/test.py configs/sain/sain_x2_jpeg_div2k.py CHECKPOINT':
    RunBy('tests/docs/test_docs_commands.py::test_documented_command_runs',
          'the same as `python tools/test.py configs/sain/'
          'sain_x2_jpeg_div2k.py checkpoints/sain_x2_jpeg.pth`, run here'),
    # configs/invcompress/README.md, docs/invcompress.md
    INVC_QS_TRAIN: Substitute(
        {}, ['--work-dir', '{root}/invc_qs', '--cfg-options',
             'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
             'default_hooks.checkpoint.interval=2',
             'param_scheduler.main.T_max=2'],
        expect=('JPEG_PSNR', 'bpp'), files=('{root}/invc_qs/iter_2.pth', )),
    f'python tools/train.py {INVC_Q1}': ParseOnly(
        'needs the Flickr 2W training set (a user download) and a GPU-scale '
        'budget (600 epochs of a 43 M-parameter network); the recipe is '
        'built by tests/models/editors/invcompress/test_invcompress_model.py'),
    INVC_CONVERT: Substitute(
        {'q1.pth.tar': '{root}/invc/q1.pth.tar',
         'checkpoints/invcompress_q1.pth': '{root}/invc/invcompress_q1.pth'},
        setup=lambda root: official_invcompress_q1(root / 'invc'),
        expect=('wrote', ), files=('{root}/invc/invcompress_q1.pth', )),
    f'python tools/test.py {INVC_Q1} checkpoints/invcompress_q1.pth':
    Substitute(
        {'checkpoints/invcompress_q1.pth': '{root}/invc/invcompress_q1.pth'},
        ['--work-dir', '{root}/invc_test', '--cfg-options',
         'test_dataloader.dataset.data_root={root}/invc_kodak',
         'test_dataloader.num_workers=0'],
        setup=lambda root: invcompress_images(root / 'invc_kodak', 1, 192),
        expect=('"bpp"', '"PSNR"', '"MS-SSIM"'), after=INVC_CONVERT),
    INVC_ENCODE: Substitute(
        {'checkpoints/invcompress_q1.pth': '{root}/invc/invcompress_q1.pth',
         'photo.png': '{root}/invc/photo.png',
         'photo.itb': '{root}/invc/photo.itb'},
        expect=('bpp', ), files=('{root}/invc/photo.itb', ),
        after=INVC_CONVERT),
    f'python tools/codec.py decode {INVC_Q1} checkpoints/invcompress_q1.pth '
    'photo.itb decoded.png': Substitute(
        {'checkpoints/invcompress_q1.pth': '{root}/invc/invcompress_q1.pth',
         'photo.itb': '{root}/invc/photo.itb',
         'decoded.png': '{root}/invc/decoded.png'},
        expect=('bpp', ), files=('{root}/invc/decoded.png', ),
        after=INVC_ENCODE),
    INVC_QS_ENCODE: Substitute(
        {INVC_QS_CKPT: '{root}/invc_qs/iter_2.pth',
         'kodim23.itb': '{root}/kodim23.itb'},
        expect=('bpp', ), files=('{root}/kodim23.itb', ),
        after=INVC_QS_TRAIN),
    'python tools/codec.py decode configs/invcompress/invcompress_quickstart.py '
    f'{INVC_QS_CKPT} kodim23.itb kodim23_decoded.png': Substitute(
        {INVC_QS_CKPT: '{root}/invc_qs/iter_2.pth',
         'kodim23.itb': '{root}/kodim23.itb',
         'kodim23_decoded.png': '{root}/kodim23_decoded.png'},
        expect=('bpp', ), files=('{root}/kodim23_decoded.png', ),
        after=INVC_QS_ENCODE),
    'python tools/analysis_tools/rd_eval.py ../shared/data/kodak --out-dir '
    'work_dirs/rd_kodak --model invcompress-quickstart '
    f'configs/invcompress/invcompress_quickstart.py {INVC_QS_CKPT} '
    '--baselines jpeg420 jpeg444 webp avif --reference-curve '
    '"InvCompress (paper)" configs/invcompress/official_kodak.json':
    Substitute(
        {'../shared/data/kodak': '{root}/rd_images',
         'work_dirs/rd_kodak': '{root}/rd_kodak',
         INVC_QS_CKPT: '{root}/invc_qs/iter_2.pth'},
        ['--baseline-qualities', 'jpeg420=30,60,90', 'jpeg444=30,60,90',
         'webp=30,60,90', 'avif=30,60,90'],
        setup=lambda root: invcompress_images(root / 'rd_images', 2, 192),
        expect=('BD-rate', 'jpeg420'),
        files=('{root}/rd_kodak/rd.json', '{root}/rd_kodak/rd.png'),
        after=INVC_QS_TRAIN),
    'python -m benchmarks.benchmark_invcompress_coding --threads 1 '
    '--repeats 7': ParseOnly(BENCHMARK_RESULTS),
    'python -m benchmarks.benchmark_invcompress_coding --threads 2 '
    '--repeats 7': ParseOnly(BENCHMARK_RESULTS),
    # configs/novelview/README.md, docs/novelview.md
    NV_QS_TRAIN: Substitute(
        {}, ['--work-dir', '{root}/nv_qs', '--cfg-options',
             'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
             'default_hooks.checkpoint.interval=2',
             'train_dataloader.dataset.scenes_per_image=1',
             'train_dataloader.dataset.cache_root={root}/nv_mpi_train',
             'val_dataloader.dataset.cache_root={root}/nv_mpi_val',
             'val_dataloader.dataset.indices=2'],
        expect=('embedding/PSNR', 'views/view_PSNR', 'baseline_still',
                'the VGG terms on the embedding and the renders are off'),
        files=('{root}/nv_qs/iter_2.pth',
               '{root}/nv_mpi_train/clic_00_0_s00/00000/mpi_rgb_31.png')),
    f'python tools/test.py configs/novelview/novelview_quickstart.py '
    f'{NV_QS_CKPT}': Substitute(
        {NV_QS_CKPT: '{root}/nv_qs/iter_2.pth'},
        ['--work-dir', '{root}/nv_qs_test', '--cfg-options',
         'test_dataloader.dataset.cache_root={root}/nv_mpi_val',
         'test_dataloader.dataset.indices=2'],
        expect=('views/view_SSIM', 'baseline_jpeg/PSNR'),
        after=NV_QS_TRAIN),
    f'python tools/test.py configs/novelview/novelview_quickstart.py '
    f'{NV_QS_CKPT} --cfg-options model.test_cfg.translation_step=0.1':
    Substitute(
        {NV_QS_CKPT: '{root}/nv_qs/iter_2.pth'},
        ['test_dataloader.dataset.cache_root={root}/nv_mpi_val',
         'test_dataloader.dataset.indices=2', '--work-dir',
         '{root}/nv_qs_test01'],
        expect=('views/view_PSNR', 'baseline_still/view_PSNR'),
        after=NV_QS_TRAIN),
    f'python tools/train.py {NV_CFG}': ParseOnly(REALESTATE10K),
    f'python tools/train.py {NV_CFG} --cfg-options '
    'model.perceptual_loss=None': ParseOnly(REALESTATE10K),
    f'python tools/test.py {NV_CFG} {NV_CKPT}': ParseOnly(REALESTATE10K),
    NV_CONVERT: Substitute(
        {'encoder=encoder_003_00015000.pth,decoder=decoder_003_00015000.pth':
         'encoder={root}/nv/encoder_003_00015000.pth,'
         'decoder={root}/nv/decoder_003_00015000.pth',
         'discriminator_003_00015000.pth':
         '{root}/nv/discriminator_003_00015000.pth',
         NV_CKPT: '{root}/nv/novelview_stereo.pth'},
        setup=lambda root: official_novelview(root / 'nv'),
        expect=('wrote', ), files=('{root}/nv/novelview_stereo.pth', )),
    NV_EMBED: Substitute(
        dict(NV_FILES, **{'frame/': '{root}/nv/frame'}), expect=('embedded', 'bpp'),
        files=('{root}/nv/frame.jpg', ), after=NV_CONVERT),
    f'python tools/infer.py render {NV_CFG} {NV_CKPT} frame.jpg view.png '
    '--pose 0.034 0 0': Substitute(
        dict(NV_FILES, **{'view.png': '{root}/nv/view.png'}),
        expect=('wrote a view', ), files=('{root}/nv/view.png', ),
        after=NV_EMBED),
    f'python tools/infer.py render {NV_CFG} {NV_CKPT} frame.jpg orbit.gif '
    '--path circle --frames 30 --fps 15': Substitute(
        dict(NV_FILES, **{'orbit.gif': '{root}/nv/orbit.gif'}),
        expect=('wrote 30 frames', ), files=('{root}/nv/orbit.gif', ),
        after=NV_EMBED),
    'python tools/dataset_converters/make_synthetic_mpi.py demo/data/val '
    'work_dirs/synthetic_mpi/val --size 64 64': Substitute(
        {'work_dirs/synthetic_mpi/val': '{root}/synthetic_mpi_val'},
        expect=('16 scenes of 32 planes, 64x64', ),
        files=('{root}/synthetic_mpi_val/kodim03_crop_s00/00000/'
               'mpi_alpha_31.png', )),
    # configs/invisp/README.md, docs/invisp.md
    'python tools/train.py configs/invisp/invisp_quickstart.py': RunBy(
        'tests/configs/test_invisp_configs.py::'
        'test_quickstart_trains_and_prints_the_baseline',
        'a few iterations'),
    'python tools/train.py configs/invisp/invisp_nikon_fivek.py': ParseOnly(
        FIVEK),
    'python tools/test.py configs/invisp/invisp_nikon_fivek.py '
    'work_dirs/invisp_nikon_fivek/epoch_300.pth': ParseOnly(FIVEK),
    'python tools/test.py configs/invisp/invisp_nikon_fivek.py '
    'checkpoints/invisp_nikon.pth': ParseOnly(FIVEK),
    INVISP_CONVERT: Substitute(
        {'nikon.pth': '{root}/invisp/nikon.pth',
         'checkpoints/invisp_nikon.pth': '{root}/invisp/invisp_nikon.pth'},
        setup=lambda root: official_invisp_nikon(root / 'invisp',
                                                 root / 'invisp' / 'raw'),
        expect=('wrote', ), files=('{root}/invisp/invisp_nikon.pth', )),
    INVISP_RENDER: Substitute(
        {'checkpoints/invisp_nikon.pth': '{root}/invisp/invisp_nikon.pth',
         'raw/': '{root}/invisp/raw', 'jpg/': '{root}/invisp/jpg'},
        ['--quiet'], expect=('wrote 2 JPEG file(s)', ),
        files=('{root}/invisp/jpg/DSC_0000.jpg', ), after=INVISP_CONVERT),
    'python tools/infer.py recover configs/invisp/invisp_nikon_fivek.py '
    'checkpoints/invisp_nikon.pth jpg/ dng/': Substitute(
        {'checkpoints/invisp_nikon.pth': '{root}/invisp/invisp_nikon.pth',
         'jpg/': '{root}/invisp/jpg', 'dng/': '{root}/invisp/dng'},
        ['--quiet'], expect=('wrote 2 DNG file(s)', ),
        files=('{root}/invisp/dng/DSC_0001.dng',
               '{root}/invisp/dng/DSC_0001.npy'), after=INVISP_RENDER),
    'python -m benchmarks.invisp_raw_compression '
    'configs/invisp/invisp_quickstart.py '
    'work_dirs/invisp_quickstart/iter_1200.pth '
    'work_dirs/invisp_quickstart/synthetic_raw/val ../shared/data/raw':
    ParseOnly('needs the quick start\'s trained checkpoint (5 min of '
              'training); run on a tiny model by '
              'tests/benchmarks/test_invisp_raw_compression.py; '
              + BENCHMARK_RESULTS),
    'python tools/dataset_converters/make_synthetic_raw.py demo/data/val '
    'work_dirs/synthetic_raw_demo --cfa GRBG': Substitute(
        {'work_dirs/synthetic_raw_demo': '{root}/synthetic_raw_demo'},
        expect=('GRBG', ),
        files=('{root}/synthetic_raw_demo/kodim03_crop.dng', )),
    SAIN_CONVERT: Substitute(
        {'SAINx2_JPEG.pth': '{root}/SAINx2_JPEG.pth',
         'checkpoints/sain_x2_jpeg.pth': '{root}/checkpoints/sain_x2_jpeg.pth'},
        setup=official_sain_x2, expect=('wrote', ),
        files=('{root}/checkpoints/sain_x2_jpeg.pth', )),
    'python tools/test.py configs/sain/sain_x2_jpeg_div2k.py '
    'checkpoints/sain_x2_jpeg.pth': Substitute(
        {'checkpoints/sain_x2_jpeg.pth': '{root}/checkpoints/sain_x2_jpeg.pth'},
        ['--work-dir', '{root}/sain_x2_official_test'] + sr_test_options(),
        expect=('JPEG-30', 'JPEG-90'), after=SAIN_CONVERT),
    'python tools/train.py configs/sain/sain_x2_jpeg_quickstart.py':
    Substitute(
        {}, ['--work-dir', '{root}/sain_quickstart', '--cfg-options',
             'train_cfg.max_iters=1', 'train_cfg.val_interval=1',
             'default_hooks.checkpoint.interval=1'],
        expect=('PSNR_Y', ), files=('{root}/sain_quickstart/iter_1.pth', )),
    # docs/latents_and_losses.md
    'python -c "import torch, torchvision; vgg = torchvision.models.vgg19('
    'weights=\'IMAGENET1K_V1\'); torch.save(vgg.state_dict(), '
    '\'vgg19.pth\')"': ParseOnly(
        'downloads the ImageNet VGG19 weights (no internet here, torchvision '
        'is not a dependency); the code is compiled'),
    # docs/metrics.md
    '.venv/bin/python -m pytest tests/utils/test_imresize.py -k '
    'bicubic_baseline': Substitute(
        {'.venv/bin/python': sys.executable}, expect=(' passed', )),
    # docs/tools.md
    'NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29500 '
    'tools/dist_train.sh CONFIG 8': ParseOnly(
        'two nodes of 8 GPUs; the script reads each variable set here'),
    'NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 PORT=29500 '
    'tools/dist_train.sh CONFIG 8': ParseOnly(
        'two nodes of 8 GPUs; the script reads each variable set here'),
    'GPUS=16 GPUS_PER_NODE=8 tools/slurm_train.sh PARTITION JOB_NAME CONFIG '
    'WORK_DIR': RunBy(
        'tests/tools/test_train_test_tools.py::'
        'test_slurm_train_composes_srun',
        'a slurm cluster; the srun call it composes is checked with a fake '
        'srun'),
    # projects/example_plugin/README.md
    'pip install -e projects/example_plugin': ParseOnly(
        'installs the plugin; the entry-point route is run by '
        'projects/example_plugin/tests with a .dist-info on PYTHONPATH'),
    'python tools/train.py projects/example_plugin/configs/'
    'exposure_bracket_demo.py': RunBy(
        'projects/example_plugin/tests/test_example_plugin.py::'
        'test_trains_through_tools_train_with_custom_imports',
        'this config, 3 iterations, both ways of finding the plugin'),
    'python -m pytest projects/example_plugin/tests': ParseOnly(
        'runs a test suite; part of make test (setup.cfg testpaths)'),
    # docs/write_a_ric_task.md: run in the page's my_project/ (its
    # my_package/__init__.py, my_config.py and two 160x160 stereo pairs)
    RIC_TRAIN: Substitute(
        {}, RIC_SHORT, expect=('embed_PSNR', 'left_PSNR'),
        files=('{root}/my_project/work_dirs/my_config/iter_1.pth', )),
    'PYTHONPATH=. path/to/invtoolbox/tools/dist_train.sh my_config.py 2':
    Substitute({}, ['--work-dir', 'work_dirs/my_config_dist'] + RIC_SHORT,
               expect=('embed_PSNR', ),
               files=('{root}/my_project/work_dirs/my_config_dist/'
                      'iter_1.pth', ),
               env={'PORT': '{free_port}'}),
    'PYTHONPATH=. python path/to/invtoolbox/tools/test.py my_config.py '
    'work_dirs/my_config/iter_500000.pth': Substitute(
        {'work_dirs/my_config/iter_500000.pth':
         'work_dirs/my_config/iter_1.pth'},
        ['--work-dir', 'work_dirs/my_config_test'],
        expect=TEST_TABLE + ('right_PSNR', ), after=RIC_TRAIN),
    # docs/inference.md, docs/benchmarks.md
    'python -m benchmarks.benchmark_infer_tiling --sizes 1 6 12 24 '
    '--max-memory 2G': ParseOnly(BENCHMARK_RESULTS),
    'python tools/infer.py roundtrip work_dirs/irn_x2_quickstart '
    'work_dirs/irn_x2_quickstart demo/kodim23_crop.png '
    'work_dirs/roundtrip_demo/ --quality 75': Substitute(
        {'work_dirs/irn_x2_quickstart': '{root}/quickstart',
         'work_dirs/roundtrip_demo/': '{root}/roundtrip_demo/'},
        expect=('jpeg quality 75 on the x2 LR', 'Y-PSNR', 'wrote 1 image'),
        files=('{root}/roundtrip_demo/kodim23_crop.png', ),
        after=QUICKSTART_TRAIN),
    'python tools/infer.py downscale configs/irn/irn_x2_div2k.py '
    'checkpoints/irn_x2.pth ../shared/data/kodak/ work_dirs/kodak_lr/':
    Substitute(
        {'checkpoints/irn_x2.pth': '{root}/checkpoints/irn_x2.pth',
         '../shared/data/kodak/': '{root}/kodak_two/',
         'work_dirs/kodak_lr/': '{root}/kodak_lr/'},
        setup=lambda root: kodak_subset(root / 'kodak_two'),
        expect=('wrote 2 image(s)', ),
        files=('{root}/kodak_lr/kodim03.png', ), after=IRN_X2_CONVERT),
    'python tools/infer.py upscale configs/irn/irn_x2_div2k.py '
    'checkpoints/irn_x2.pth work_dirs/kodak_lr/ work_dirs/kodak_sr/ '
    '--seed 0': Substitute(
        {'checkpoints/irn_x2.pth': '{root}/checkpoints/irn_x2.pth',
         'work_dirs/kodak_lr/': '{root}/kodak_lr/',
         'work_dirs/kodak_sr/': '{root}/kodak_sr/'},
        expect=('wrote 2 image(s)', ), files=('{root}/kodak_sr/kodim03.png', ),
        after='python tools/infer.py downscale configs/irn/irn_x2_div2k.py '
        'checkpoints/irn_x2.pth ../shared/data/kodak/ work_dirs/kodak_lr/'),
    'python tools/infer.py roundtrip configs/irn/irn_x2_div2k.py '
    'checkpoints/irn_x2.pth ../shared/data/kodak/kodim23.png '
    'work_dirs/kodim23_jpeg75/ --codec jpeg --quality 75 --keep-lr':
    Substitute(
        {'checkpoints/irn_x2.pth': '{root}/checkpoints/irn_x2.pth',
         'work_dirs/kodim23_jpeg75/': '{root}/kodim23_jpeg75/'},
        expect=('kodim23.png', 'Y-PSNR'),
        files=('{root}/kodim23_jpeg75/kodim23.png',
               '{root}/kodim23_jpeg75/kodim23_lr.jpg'), after=IRN_X2_CONVERT),
    'python tools/infer.py embed configs/iicnet/video_embed.py '
    'iicnet_st-01.pth ../shared/data/video/vimeo_00001_0002/ '
    'work_dirs/clip.png --start 1': Substitute(
        {'iicnet_st-01.pth': '{root}/st01/iicnet_st-01.pth',
         'work_dirs/clip.png': '{root}/clip.png'},
        expect=('embedding images 1..5 of 7', 'embedded 5 images'),
        files=('{root}/clip.png', ), after=ST01_CONVERT),
    'python tools/infer.py restore configs/iicnet/video_embed.py '
    'iicnet_st-01.pth work_dirs/clip.png work_dirs/clip.gif': Substitute(
        {'iicnet_st-01.pth': '{root}/st01/iicnet_st-01.pth',
         'work_dirs/clip.png': '{root}/clip.png',
         'work_dirs/clip.gif': '{root}/clip.gif'},
        expect=('restored 5 frames', ), files=('{root}/clip.gif', ),
        after='python tools/infer.py embed configs/iicnet/video_embed.py '
        'iicnet_st-01.pth ../shared/data/video/vimeo_00001_0002/ '
        'work_dirs/clip.png --start 1'),
    'python tools/infer.py restore configs/iicnet/video_embed.py '
    'iicnet_st-01.pth work_dirs/clip.png work_dirs/clip_frames/': Substitute(
        {'iicnet_st-01.pth': '{root}/st01/iicnet_st-01.pth',
         'work_dirs/clip.png': '{root}/clip.png',
         'work_dirs/clip_frames/': '{root}/clip_frames/'},
        expect=('restored 5 image(s)', ),
        files=('{root}/clip_frames/im2.png', '{root}/clip_frames/im6.png'),
        after='python tools/infer.py embed configs/iicnet/video_embed.py '
        'iicnet_st-01.pth ../shared/data/video/vimeo_00001_0002/ '
        'work_dirs/clip.png --start 1'),
}


def documented_commands():
    found = {}
    for page in pages():
        for command in bash_commands(page):
            found.setdefault(command.text, command)
    return found


DOCUMENTED = documented_commands()


def test_every_documented_command_is_declared_and_no_entry_is_stale():
    missing = [text for text in DOCUMENTED if text not in COMMANDS]
    stale = [text for text in COMMANDS if text not in DOCUMENTED]
    assert not missing, (
        'documented commands missing from COMMANDS (declare how each is '
        f'checked): {missing}')
    assert not stale, f'COMMANDS entries that no page shows: {stale}'


def _keys(kind):
    return [text for text, check in COMMANDS.items()
            if isinstance(check, kind)]


# --------------------------------------------------------------------------
# Parse only
def load_script(path):
    spec = importlib.util.spec_from_file_location(
        f'_docs_{Path(path).stem}', REPO_ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _accepts(parse_args, argv, text):
    try:
        parse_args(argv)
    except SystemExit as err:  # argparse's exit on a bad option
        pytest.fail(f'{text!r}: argv {argv} is refused ({err})')


def _makefile_recipe(target):
    makefile = (REPO_ROOT / 'Makefile').read_text()
    match = re.search(rf'^{re.escape(target)}:.*\n((?:\t.*\n)+)', makefile,
                      re.M)
    assert match, f'Makefile has no target {target}'
    return match.group(1)


def _check_parse_only(text, argv):
    env, argv = split_env(argv)
    argv = [str(REPO_ROOT) + word[len(CHECKOUT):]
            if word.startswith(CHECKOUT + '/') else word for word in argv]
    program, args = argv[0], argv[1:]
    for word in args:  # configs named exist
        if word.startswith('configs/'):
            assert (REPO_ROOT / word).is_file(), f'{text!r}: no {word}'
    if program == 'source':  # the venv that make creates
        makefile = (REPO_ROOT / 'Makefile').read_text()
        assert args == ['.venv/bin/activate'], args
        assert 'VENV ?= .venv' in makefile
        assert '$(PYTHON) -m venv $(VENV)' in makefile
    elif program == 'make':
        recipe = _makefile_recipe(args[0])
        if args[0] == 'quickstart':
            assert '$(VPY) tools/train.py configs/irn/irn_x2_quickstart.py' \
                in recipe
            assert QUICKSTART_TRAIN in COMMANDS
        else:
            assert '-m pytest' in recipe
            if args[0] == 'test-fast':
                assert 'INVTB_FAST_LANE=1' in recipe
                assert '-m "not e2e"' in recipe
    elif program == 'pip':
        assert args[0] == 'install'
        if args[1] == '-e' and args[2].startswith('projects/'):
            assert (REPO_ROOT / args[2] / 'pyproject.toml').is_file(), args
        elif args[1] == '-e':
            setup_py = (REPO_ROOT / 'setup.py').read_text()
            extras = re.findall(r'\[([\w,]+)\]', args[2])[0].split(',')
            for extra in extras + ['tb']:  # the page names .[tests,tb] too
                assert f"'{extra}'" in setup_py, f'no extra {extra}'
        else:
            wanted = args[1].split('==')[1]
            assert f'TORCH ?= torch=={wanted}' in \
                (REPO_ROOT / 'Makefile').read_text()
            assert torch.__version__.split('+')[0] == wanted
    elif program == 'python' and args[0] == '-m':
        if args[1] == 'pytest':
            importlib.import_module('pytest')
            assert 'testpaths' in (REPO_ROOT / 'setup.cfg').read_text()
            for path in args[2:]:
                assert (REPO_ROOT / path).exists(), f'{text!r}: no {path}'
        else:
            module = importlib.import_module(args[1])
            _accepts(module.parse_args, args[2:], text)
    elif program == 'python' and args[0] == '-c':
        compile(args[1], '<python -c>', 'exec')
    elif program == 'python':
        _accepts(load_script(args[0]).parse_args, args[1:], text)
    elif program == 'bash':
        script = (REPO_ROOT / args[0]).read_text()
        assert script.startswith('#!/usr/bin/env bash')
        assert 'make test' in script, f'{args[0]} does not run make test'
    elif program.endswith('.sh'):
        script = (REPO_ROOT / program).read_text()
        assert script.startswith('#!/usr/bin/env bash')
        for name in env:
            assert f'${{{name}' in script, f'{program} ignores {name}'
    else:
        pytest.fail(f'{text!r}: no parse check for {program}')


@pytest.mark.parametrize('text', _keys(ParseOnly))
def test_documented_command_parses(text):
    assert COMMANDS[text].reason
    argv = DOCUMENTED[text].argv() if text in DOCUMENTED else pytest.fail(
        f'{text!r} is not documented')
    _check_parse_only(text, argv)


@pytest.mark.parametrize('text', _keys(RunBy))
def test_documented_command_is_run_by_a_test(text):
    path, _, name = COMMANDS[text].test.partition('::')
    source = (REPO_ROOT / path).read_text()
    assert re.search(rf'^def {name}\(', source, re.M), COMMANDS[text].test
    assert text in DOCUMENTED


# --------------------------------------------------------------------------
# Runs
def split_env(argv):
    """``(env, argv)``: the command's leading ``VAR=value`` words apart."""
    env, argv = {}, list(argv)
    while argv and re.match(r'^[A-Za-z_]\w*=', argv[0]):
        name, value = argv.pop(0).split('=', 1)
        env[name] = value
    return env, argv


def _argv(text, check, root):
    env, argv = split_env(DOCUMENTED[text].argv())
    if isinstance(check, Substitute):
        argv = [check.replace.get(word, word) for word in argv]
        argv += list(check.options)
    argv = [word.replace('{root}', str(root)) for word in argv]
    argv = [str(REPO_ROOT) + word[len(CHECKOUT):]
            if word.startswith(CHECKOUT + '/') else word for word in argv]
    if argv[0] == 'python':
        argv[0] = sys.executable
    elif argv[0].endswith('.sh'):
        argv.insert(0, 'bash')
    return env, argv


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return str(sock.getsockname()[1])


class Runs:
    """The selected runs, two at a time; ``result(text)`` awaits one."""

    def __init__(self, root, texts):
        self.root = root
        make_tiny_data(root)
        for page in sorted({DOCUMENTED[text].page for text in texts
                            if DOCUMENTED[text].cwd}):
            user_folder(page, root)  # the user's files, before any run
        self._pool = ThreadPoolExecutor(max_workers=2)
        self._futures = {}
        # the long runs first; a command's ``after`` is submitted before it
        for text in sorted(texts, key=lambda text: not text.startswith(SLOW)):
            self._submit(text)

    def _submit(self, text):
        if text in self._futures:
            return
        after = getattr(COMMANDS[text], 'after', None)
        if after:
            self._submit(after)
        self._futures[text] = self._pool.submit(self._run, text)

    def _run(self, text):
        check = COMMANDS[text]
        after = getattr(check, 'after', None)
        if after:
            self._futures[after].result()
        setup = getattr(check, 'setup', None)
        if setup:
            setup(self.root)
        env = dict(os.environ, OMP_NUM_THREADS='1', PYTHON=sys.executable)
        own, argv = _argv(text, check, self.root)
        for name, value in own.items():  # the command's VAR=value words
            # (PYTHONPATH: the command's first, then the checkout under test)
            env[name] = (f'{value}{os.pathsep}{env["PYTHONPATH"]}'
                         if name == 'PYTHONPATH' and env.get('PYTHONPATH')
                         else value)
        for name, value in (getattr(check, 'env', None) or {}).items():
            env[name] = free_port() if value == '{free_port}' else value
        cwd = DOCUMENTED[text].cwd
        cwd = self.root / cwd if cwd else REPO_ROOT
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=HANG_TIMEOUT)
        proc.seconds = time.perf_counter() - start
        return proc

    def result(self, text):
        return self._futures[text].result()

    def close(self):
        self._pool.shutdown(cancel_futures=True)


RUN_KEYS = _keys(Run) + _keys(Substitute)
#: the runs of 20 s and more, started first
SLOW = ('python -m benchmarks.benchmark_irn',
        'python tools/train.py configs/iicnet/video_embed.py --work-dir',
        'python tools/train.py configs/iicnet/mono_binocular.py --work-dir')


@pytest.fixture(scope='module')
def runs(request, tmp_path_factory):
    shared_path('data')  # the runs read ../shared
    selected = [
        item.callspec.params['text'] for item in request.session.items
        if item.originalname == 'test_documented_command_runs'
        and Path(item.fspath) == Path(__file__)
    ]
    runs = Runs(tmp_path_factory.mktemp('docs_runs'), selected or RUN_KEYS)
    yield runs
    runs.close()


@pytest.mark.e2e
@pytest.mark.parametrize('text', RUN_KEYS)
def test_documented_command_runs(text, runs):
    check = COMMANDS[text]
    proc = runs.result(text)
    print(f'{proc.seconds:.1f} s: {text[:100]}')
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{text!r} failed:\n{log[-4000:]}'
    for expected in check.expect:
        assert expected in log, (expected, log[-3000:])
    for name in check.files:
        assert Path(name.replace('{root}', str(runs.root))).is_file(), name


def test_substitutions_name_words_of_the_command():
    for text in _keys(Substitute):
        words = DOCUMENTED[text].argv() if text in DOCUMENTED else []
        for old in COMMANDS[text].replace:
            assert old in words, (text, old)
