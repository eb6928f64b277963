# Copyright (c) invtoolbox contributors. All rights reserved.
"""Train a model from a config with mmengine's Runner.

Usage::

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--seed N] [--data-root DIR] [--cfg-options KEY=VALUE ...]
        [--launcher none|pytorch|slurm]

    tools/dist_train.sh CONFIG NUM_PROCS [args]      # torchrun, CPU or GPU

``--resume`` alone resumes from the latest checkpoint of the work dir (or
starts from scratch when there is none), read weights-only with the
allow-list of ``invtoolbox.utils.checkpoint_trust``; ``--resume CKPT``
resumes from that file, which you thereby declare trusted (loaded with
``weights_only=False``). A resumed run is bit-identical to an
uninterrupted one (see ``docs/tools.md``). Without a GPU, ``--launcher
pytorch|slurm`` trains with the ``gloo`` backend. Bad input ends with one
line ``error: ...`` on stderr and exit status 1 (set ``INVTB_TRACEBACK=1`` for
the full traceback); when data is missing, the line ends with the config's
``data_hint`` (if it sets one). ``--data-root DIR`` points every dataset of
the config at ``DIR`` (the config's ``data_root`` swapped for ``DIR``, each
dataset keeping its sub-folder; see ``invtoolbox.utils.data_root``).
"""
import argparse
import contextlib
import os
import os.path as osp
import sys

# A python without torch/mmengine re-runs this script with the repo's .venv
# (tools/repo_venv.py), before the heavy imports.
if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from repo_venv import use_repo_venv
    use_repo_venv()
    del sys.path[0]

from mmengine.config import Config, DictAction


class KeyValueAction(DictAction):
    """``DictAction`` that reports a malformed item in one line."""

    def __call__(self, parser, namespace, values, option_string=None):
        for item in values or []:
            if '=' not in item or item.startswith('='):
                fail(f'{option_string} expects KEY=VALUE items, got '
                     f'{item!r} (e.g. train_cfg.max_iters=1000).')
        try:
            super().__call__(parser, namespace, values, option_string)
        except Exception as err:  # e.g. unbalanced brackets in a value
            fail(f'{option_string} cannot parse {values}: {one_line(err)}; '
                 'values are literals, lists [a,b] or tuples (a,b).')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model.')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--work-dir',
        help='folder for logs and checkpoints (default: the config\'s '
        'work_dir, else work_dirs/<config name>)')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        metavar='CKPT',
        help='resume from CKPT, or from the latest checkpoint of the work dir '
        'when no file is given')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision (needs a CUDA GPU)')
    parser.add_argument('--seed', type=int, help='random seed of the run')
    add_data_root_argument(parser)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=KeyValueAction,
        metavar='KEY=VALUE',
        help='override config entries, e.g. train_cfg.max_iters=1000 '
        '"optim_wrapper.optimizer.lr=1e-4"')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm'],
        default='none',
        help='job launcher (pytorch: torchrun, as in tools/dist_train.sh)')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK
    parser.add_argument(
        '--local_rank', '--local-rank', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.local_rank is not None and 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def add_data_root_argument(parser):
    """``--data-root DIR`` (shared with test.py)."""
    parser.add_argument(
        '--data-root',
        metavar='DIR',
        help='point every dataset of the config at DIR: the config\'s '
        'data_root is swapped for DIR and each dataset keeps its sub-folder '
        '(e.g. DIR/train and DIR/val for the quick starts); applied before '
        '--cfg-options')


def fail(message):
    """Exit with a one-line message (status 1)."""
    if os.environ.get('INVTB_TRACEBACK') == '1' and sys.exc_info()[0]:
        raise
    sys.exit(f'error: {message}')


def one_line(err):
    """``Type: first line of the message`` of an exception."""
    text = str(err).strip().splitlines()
    return f'{type(err).__name__}: {text[0] if text else ""}'.rstrip(': ')


def load_config(path, cfg_options=None, data_root=None):
    """``Config.fromfile`` plus ``--data-root`` and ``--cfg-options`` (in
    that order, so an explicit option wins), failing in one line."""
    if not osp.isfile(path):
        fail(f'config {path} not found; pass the path of a config .py file.')
    try:
        cfg = Config.fromfile(path)
    except Exception as err:  # syntax errors, failed custom_imports, ...
        plugin = _failed_custom_import(path)
        fail(plugin or f'cannot load config {path}: {one_line(err)}')
    if data_root is not None:
        apply_data_root(cfg, data_root, path)
    if cfg_options:
        try:
            cfg.merge_from_dict(cfg_options)
        except Exception as err:
            fail(f'cannot apply --cfg-options {cfg_options} to {path}: '
                 f'{one_line(err)}')
    return cfg


def apply_data_root(cfg, data_root, path):
    """``--data-root``: every dataset of ``cfg`` under ``data_root``."""
    from invtoolbox.utils.data_root import set_data_root
    if not osp.isdir(data_root):
        old = cfg.get('data_root') or 'the common folder of its datasets'
        fail(f'--data-root {data_root} is not a folder; pass the folder that '
             f'replaces the data root of {path} ({old}).')
    try:
        left = set_data_root(cfg, data_root)
    except ValueError as err:
        fail(f'--data-root {data_root} for config {path}: {err}.')
    for root in left:
        print(f'--data-root: {root} is not under the config\'s data_root '
              f'and stays as it is.')


def register_modules():
    """``register_all_modules()``; a plugin that fails to import ends the
    run with one line naming it and showing its error."""
    from invtoolbox import PluginImportError
    from invtoolbox.utils import register_all_modules
    try:
        register_all_modules()
    except PluginImportError as err:
        fail(str(err))


def _failed_custom_import(path):
    """Name the ``custom_imports`` module of config ``path`` that fails to
    import and show its own error (mmengine's message shows neither)."""
    import importlib
    try:
        cfg = Config.fromfile(path, import_custom_modules=False)
    except Exception:
        return None
    imports = (cfg.get('custom_imports') or {}).get('imports', [])
    for name in [imports] if isinstance(imports, str) else imports:
        try:
            importlib.import_module(name)
        except Exception as err:
            return (f'config {path}: custom_imports module {name!r} failed '
                    f'to import ({one_line(err)}); fix it, or install the plugin '
                    '(pip install -e PATH) or add its folder to PYTHONPATH.')
    return None


def is_config_error(err):
    """Errors caused by the config or the files it names, not by a bug."""
    from invtoolbox import InvToolboxError
    if isinstance(err, (InvToolboxError, FileNotFoundError)):
        return True
    if is_bad_option_error(err):
        return True
    # mmengine's registries: "X is not in the <scope>::<name> registry ..."
    return isinstance(err, KeyError) and ' registry' in str(err)


def is_bad_option_error(err):
    """A class built from the config got an option it does not take (e.g.
    ``data_root`` given to a ``ConcatDataset`` by ``--cfg-options``)."""
    return isinstance(err, TypeError) and \
        'got an unexpected keyword argument' in str(err)


def config_error_message(err, cfg):
    """The one line for a config error: the error, then what to do."""
    from invtoolbox.errors import DataError
    message = one_line(err) if isinstance(err, KeyError) else str(err)
    if is_bad_option_error(err):
        message = (f'{one_line(err)}: a config entry (or --cfg-options item) '
                   'gives a class an option it does not take; check the '
                   'keys (for data folders use --data-root DIR).')
    hint = cfg.get('data_hint')
    if isinstance(err, (FileNotFoundError, DataError)) and hint:
        message = f'{message.rstrip(".")}. {hint}'
    return message


def _resume_seed(checkpoint):
    """The seed stored in a checkpoint the run is about to resume from (read
    under the trust policy, as the Runner will read it)."""
    from invtoolbox.utils import load_checkpoint_file
    try:
        loaded = load_checkpoint_file(checkpoint, 'cpu', mmap=True)
    except Exception:  # unreadable or refused: the Runner reports it
        return None
    meta = loaded.get('meta') if isinstance(loaded, dict) else None
    return meta.get('seed') if isinstance(meta, dict) else None


def setup_resume(cfg, resume):
    """Apply ``--resume`` to ``cfg`` and trust the checkpoint(s) it reads."""
    from mmengine.runner import find_latest_checkpoint

    from invtoolbox.utils import trust_checkpoint_path
    if resume is None:
        return
    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
        checkpoint = find_latest_checkpoint(cfg.work_dir)
        if checkpoint is None:
            print(f'no checkpoint in {cfg.work_dir} to resume from; '
                  'training starts from scratch.')
            return
    else:
        checkpoint = resume
        if not osp.isfile(checkpoint):
            fail(f'checkpoint {checkpoint} given to --resume not found; pass '
                 'a checkpoint of this run, or --resume alone for the latest '
                 'one in the work dir.')
        cfg.resume, cfg.load_from = True, checkpoint
        trust_checkpoint_path(checkpoint)  # the user vouches for it
    # The sampler is seeded when the Runner is built, before it resumes: take
    # the checkpoint's seed now, unless the config or --seed fixes one.
    if cfg.get('randomness', {}).get('seed') is None and osp.isfile(
            checkpoint):
        seed = _resume_seed(checkpoint)
        if seed is not None:
            cfg.randomness = dict(cfg.get('randomness', {}), seed=seed)


def setup_amp(cfg):
    import torch
    if not torch.cuda.is_available():
        fail('--amp needs a CUDA GPU and none is available; drop --amp to '
             'train in float32 on the CPU.')
    optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if optim_wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
        fail(f'--amp applies to OptimWrapper configs; this config uses '
             f'{optim_wrapper}, set its AMP options in the config instead.')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def add_rng_state_hook(cfg):
    hooks = list(cfg.get('custom_hooks') or [])
    if not all(isinstance(h, dict) for h in hooks):
        fail(f'custom_hooks must be a list of dicts, got {hooks!r}.')
    if not any(h.get('type') in ('RNGStateHook', 'invtoolbox.RNGStateHook')
               for h in hooks):
        hooks.append(dict(type='RNGStateHook'))
    cfg.custom_hooks = hooks


def set_work_dir(cfg, work_dir, config_path):
    """``--work-dir``, else the config's ``work_dir``, else
    ``work_dirs/<config name>`` (shared with test.py)."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])


@contextlib.contextmanager
def runner_session(cfg, launcher, config_path):
    """Build mmengine's Runner for ``cfg`` and yield it (shared with test.py).

    Sets up gloo first when ``launcher`` is distributed and no GPU is
    present, turns config errors (when building or while running) into one
    line, and destroys a process group it created itself.
    """
    from invtoolbox.utils import setup_cpu_distributed
    cfg.launcher = launcher
    try:
        own_group = setup_cpu_distributed(cfg, launcher)
    except ValueError as err:
        fail(str(err))
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    try:
        try:
            if 'runner_type' in cfg:
                runner = RUNNERS.build(cfg)
            else:
                runner = Runner.from_cfg(cfg)
        except Exception as err:
            fail(f'cannot build the runner from config {config_path}: '
                 f'{one_line(err)}')
        try:
            yield runner
        except Exception as err:
            if not is_config_error(err):
                raise
            fail(config_error_message(err, cfg))
        if own_group:
            drain_process_group()
    finally:
        if own_group:
            import torch.distributed as dist
            if dist.is_initialized():
                dist.destroy_process_group()


def drain_process_group():
    """Let every rank finish its collectives before the group goes away.

    gloo's ``barrier`` first waits for all work still queued on the group
    (e.g. an all-reduce nobody waited for). Tearing the group down with such
    work in flight let gloo's worker threads outlive the interpreter, which
    aborted a rank at exit ("terminate called without an active exception")
    after a successful run. Only called on success: a failed rank must not
    wait for peers that may never arrive.
    """
    import gc

    import torch.distributed as dist
    if not dist.is_initialized():
        return
    gc.collect()  # free finished Work objects held by reference cycles
    dist.barrier()


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.config):  # before the slow imports
        fail(f'config {args.config} not found; pass the path of a config '
             '.py file.')

    from invtoolbox.utils import register_checkpoint_loader
    register_modules()
    cfg = load_config(args.config, args.cfg_options, args.data_root)

    set_work_dir(cfg, args.work_dir, args.config)
    if args.seed is not None:
        cfg.randomness = dict(cfg.get('randomness', {}), seed=args.seed)
    if args.amp:
        setup_amp(cfg)
    setup_resume(cfg, args.resume)
    # Every checkpoint (the run's own included) is loaded weights-only with
    # the allow-list; only a file given to --resume CKPT is trusted.
    register_checkpoint_loader()
    add_rng_state_hook(cfg)

    with runner_session(cfg, args.launcher, args.config) as runner:
        runner.train()
    return 0


if __name__ == '__main__':
    main()
