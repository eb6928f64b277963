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
``data_hint`` (if it sets one). Config values and every dataset the run reads
are checked before the first iteration; bad data met later (in a dataloader
worker too) is one line as well, and Ctrl-C prints ``interrupted at
iteration N; resume with --resume`` (exit status 130). The terminal shows a
short header; mmengine's environment and config dumps go to the log file.
``INVTB_NO_PLUGINS=1`` skips installed plugins. ``--data-root DIR`` points
every dataset of the config at ``DIR`` (the config's ``data_root`` swapped
for ``DIR``, each dataset keeping its sub-folder, and a dataset named in the
config renamed after its new folder; see ``invtoolbox.utils.data_root``).
"""
import argparse
import contextlib
import copy
import difflib
import logging
import math
import os
import os.path as osp
import re
import sys
import zipfile

# A python without torch/mmengine re-runs this script with the repo's .venv
# (tools/repo_venv.py), before the heavy imports.
if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from repo_venv import use_repo_venv
    use_repo_venv()
    del sys.path[0]

from mmengine.config import Config, DictAction


class KeyValueAction(DictAction):
    """``DictAction`` that reports a malformed item in one line and keeps the
    spaces of a quoted value (``"work_dir='/tmp/my runs'"``) or of an
    unquoted single value passed as one argument (``"work_dir=/tmp/my runs"``);
    mmengine's ``DictAction`` deletes every space, even inside quotes."""

    def __call__(self, parser, namespace, values, option_string=None):
        # a repeated --cfg-options adds to the earlier ones (as mmengine's)
        options = dict(getattr(namespace, self.dest, None) or {})
        for item in values or []:
            if '=' not in item or item.startswith('='):
                fail(f'{option_string} expects KEY=VALUE items, got '
                     f'{item!r} (e.g. train_cfg.max_iters=1000).')
            key, value = item.split('=', maxsplit=1)
            try:
                options[key] = parse_option_value(value)
            except Exception as err:  # e.g. unbalanced brackets in a value
                fail(f'{option_string} cannot parse {item!r}: '
                     f'{one_line(err)}; values are literals, quoted strings '
                     "('a b'), lists [a,b] or tuples (a,b).")
        setattr(namespace, self.dest, options)


def parse_option_value(text):
    """The value of one ``--cfg-options KEY=VALUE`` item.

    A value wholly in matching quotes (``'a b'`` or ``"a b"``) is that
    string, spaces kept; a list ``[a,b]``, a tuple ``(a,b)`` or ``a,b`` is
    parsed as mmengine does (spaces dropped); any other value is an int,
    float, bool (``true``/``false``), ``None`` or else the string itself,
    surrounding whitespace stripped and inner spaces kept.
    """
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and \
            stripped[0] in '\'"':
        return stripped[1:-1]
    if stripped.startswith(('[', '(')) or ',' in stripped:
        return DictAction._parse_iterable(stripped)
    return DictAction._parse_int_float_bool(stripped)


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


#: the keys given to ``--cfg-options`` (named in the errors about them)
CFG_OPTION_KEYS = []


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
        CFG_OPTION_KEYS[:] = list(cfg_options)
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


def error_text(err):
    """The message of ``err``, without the worker traceback that torch adds
    when it re-raises the exception of a dataloader worker process.

    torch re-raises a worker's exception in the main process with its
    original type and the message "Caught X in DataLoader worker process
    N." followed by "Original Traceback ..." (the worker's traceback text,
    ending with the line "module.X: message"); this returns that message.
    """
    text = str(err)
    if isinstance(err, KeyError) and len(err.args) == 1 and isinstance(
            err.args[0], str):
        text = err.args[0]
    if not (text.startswith('Caught ') and 'Original Traceback' in text):
        return text
    lines = text.rstrip().splitlines()
    name = re.escape(type(err).__name__)
    pattern = re.compile(rf'^(?:[\w.]+\.)?{name}(?:: (.*))?$')
    for i in range(len(lines) - 1, 0, -1):
        match = pattern.match(lines[i])
        if match:
            return '\n'.join([match.group(1) or ''] + lines[i + 1:]).strip()
    return lines[-1].strip()


def config_error_message(err, cfg):
    """The one line for a config error: the error, then what to do."""
    from invtoolbox.errors import DataError
    lines = error_text(err).strip().splitlines()
    message = lines[0] if lines else type(err).__name__
    if isinstance(err, KeyError):
        message = f'{type(err).__name__}: {message}'
    if is_bad_option_error(err):
        message = bad_option_message(err, cfg)
    hint = cfg.get('data_hint')
    if isinstance(err, (FileNotFoundError, DataError)) and hint:
        message = f'{message.rstrip(".")}. {hint}'
    return message


def find_key_paths(node, key, prefix=''):
    """Dotted paths of every entry named ``key`` in a config (lists give
    their index: ``train_dataloader.dataset.pipeline.1.gt_patch_size``)."""
    paths = []
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, (list, tuple)):
        items = enumerate(node)
    else:
        return paths
    for name, value in items:
        path = f'{prefix}{name}'
        if name == key:
            paths.append(path)
        paths += find_key_paths(value, key, path + '.')
    return paths


def _get_path(cfg, path):
    node = cfg
    for part in path.split('.'):
        node = node[int(part)] if isinstance(node, (list, tuple)) else \
            node[part]
    return node


def bad_option_message(err, cfg):
    """``X got an unexpected keyword argument 'k'`` as one line naming the
    config entry (or ``--cfg-options`` item) and the closest valid key."""
    text = error_text(err)
    match = re.search(r"(\w+)(?:\.__init__)?\(\) got an unexpected keyword "
                      r"argument '(\w+)'", text)
    if match is None:
        return (f'{one_line(err)}: a config entry (or --cfg-options item) '
                'gives a class an option it does not take; check the '
                'keys (for data folders use --data-root DIR).')
    cls, key = match.groups()
    options = [k for k in CFG_OPTION_KEYS if k.split('.')[-1] == key]
    paths = options or find_key_paths(cfg._cfg_dict.to_dict() if hasattr(
        cfg, '_cfg_dict') else cfg, key)
    where = (f'--cfg-options {options[0]}' if options else
             f'config entry {paths[0]}' if paths else f'option {key!r}')
    suggestion, close = '', []
    if paths:
        parent = paths[0].rpartition('.')[0]
        try:
            siblings = _get_path(cfg, parent) if parent else cfg
            known = [k for k in siblings if k not in (key, 'type')]
        except (KeyError, IndexError, TypeError, ValueError):
            known = []
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        if close:
            suggestion = f' (did you mean {close[0]!r}?)'
    hint = ' (for data folders use --data-root DIR)' if re.search(
        'root|dir|path|folder', ' '.join([key] + close)) else ''
    return (f'{where}: {cls} got an unexpected keyword argument {key!r}'
            f'{suggestion}; fix the key{hint}.')


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _loaders(cfg, split):
    """``[(label, loader config)]`` of ``<split>_dataloader`` (a list of
    loaders gives ``val[0]``, ``val[1]``, ...)."""
    loaders = cfg.get(f'{split}_dataloader')
    if isinstance(loaders, (list, tuple)):
        return [(f'{split}_dataloader.{i}', loader)
                for i, loader in enumerate(loaders)]
    return [] if loaders is None else [(f'{split}_dataloader', loaders)]


def _optimizer_lrs(node, prefix='optim_wrapper'):
    """``(path, lr)`` of every optimizer of an ``optim_wrapper`` config
    (one wrapper, or a dict of wrappers for models with several)."""
    found = []
    if not isinstance(node, dict):
        return found
    optimizer = node.get('optimizer')
    if isinstance(optimizer, dict) and 'lr' in optimizer:
        found.append((f'{prefix}.optimizer.lr', optimizer['lr']))
    for name, value in node.items():
        if name != 'optimizer' and isinstance(value, dict):
            found += _optimizer_lrs(value, f'{prefix}.{name}')
    return found


def run_splits(cfg, mode):
    """The datasets a run reads: ``('train', 'val')`` when training (val
    only when the config sets ``val_cfg``, ``val_dataloader`` and
    ``val_evaluator``, as mmengine requires), ``('test',)`` when testing."""
    if mode == 'test':
        return ('test', )
    splits = ['train']
    if all(cfg.get(f'val_{k}') for k in ('cfg', 'dataloader', 'evaluator')):
        splits.append('val')
    return tuple(splits)


def check_config_values(cfg, config_path, mode='train'):
    """Fail in one line on config values the run cannot use, before the
    Runner is built: iteration counts, batch sizes, worker counts and
    learning rates (whichever the run uses)."""
    checks = []  # (path, value, ok, expected, example)
    if mode == 'train':
        train_cfg = cfg.get('train_cfg') or {}
        for key, example in (('max_iters', 1000), ('max_epochs', 100),
                             ('val_interval', 1000)):
            if key in train_cfg:
                value = train_cfg[key]
                checks.append((f'train_cfg.{key}', value, _is_int(value)
                               and value > 0, 'a positive integer',
                               example))
        for path, lr in _optimizer_lrs(cfg.get('optim_wrapper')):
            ok = isinstance(lr, (int, float)) and not isinstance(
                lr, bool) and math.isfinite(lr) and lr >= 0
            checks.append((path, lr, ok, 'a learning rate >= 0', '1e-4'))
    for split in run_splits(cfg, mode):
        for label, loader in _loaders(cfg, split):
            if not isinstance(loader, dict):
                continue
            if 'batch_size' in loader:
                value = loader['batch_size']
                checks.append((f'{label}.batch_size', value, _is_int(value)
                               and value > 0, 'a positive integer', 1))
            if 'num_workers' in loader:
                value = loader['num_workers']
                checks.append((f'{label}.num_workers', value, _is_int(value)
                               and value >= 0, 'an integer >= 0', 2))
    for path, value, ok, expected, example in checks:
        if ok:
            continue
        source = ' (from --cfg-options)' if path in CFG_OPTION_KEYS else \
            f' in {config_path}'
        fail(f'{path} is {value!r}{source}; expected {expected}. Fix it, '
             f'e.g. --cfg-options {path}={example}.')


def is_data_error(err):
    """Errors that building or reading a dataset raises for bad data or a
    bad dataset config (not for a bug in the code)."""
    from invtoolbox import InvToolboxError
    return isinstance(err, (InvToolboxError, ValueError, OSError)) or \
        is_config_error(err)


def _leaf_datasets(dataset):
    """The datasets inside mmengine's wrappers (``ConcatDataset``'s
    ``datasets``, ``RepeatDataset``'s ``dataset``; a repeated dataset is
    listed once), or ``dataset`` itself."""
    inner = getattr(dataset, 'datasets', None)
    if isinstance(inner, (list, tuple)):
        return [leaf for d in inner for leaf in _leaf_datasets(d)]
    inner = getattr(dataset, 'dataset', None)
    if hasattr(inner, 'get_data_info'):
        return _leaf_datasets(inner)
    return [dataset]


def _missing_file(dataset):
    """The first file named in a dataset's data list (``*_path`` /
    ``*_paths`` entries) that does not exist, or None."""
    for leaf in _leaf_datasets(dataset):
        missing = _missing_leaf_file(leaf)
        if missing is not None:
            return missing
    return None


def _missing_leaf_file(dataset):
    get_info = getattr(dataset, 'get_data_info', None)
    if get_info is None:
        return None
    seen = set()
    for index in range(len(dataset)):
        try:
            info = get_info(index)
        except Exception:  # not a list-of-dicts dataset
            return None
        if not isinstance(info, dict):
            return None
        for key, value in info.items():
            if not key.endswith(('_path', '_paths')):
                continue
            for path in value if isinstance(value, (list, tuple)) else [
                    value
            ]:
                if isinstance(path, str) and path not in seen:
                    seen.add(path)
                    if '://' not in path and not osp.exists(path):
                        return path
    return None


def _dataset_root(dataset_cfg):
    for key in ('data_root', 'src_root'):
        if isinstance(dataset_cfg, dict) and isinstance(
                dataset_cfg.get(key), str):
            return dataset_cfg[key]
    if isinstance(dataset_cfg, dict) and isinstance(
            dataset_cfg.get('dataset'), dict):
        return _dataset_root(dataset_cfg['dataset'])
    return None


def check_datasets(cfg, mode='train'):
    """Build every dataset the run reads and load one sample of each.

    Runs before the first iteration: an empty dataset, a missing file, a
    corrupt first image or a bad pipeline fails now, in one line naming the
    dataset (``train``, ``val``, ``test``), instead of at the first
    validation after hours of training. Only the first sample is read
    through the pipeline; every file named in the data list is checked to
    exist (a ``stat`` each). The global random generators are restored
    afterwards, so the run draws the same numbers as without the check.
    """
    from invtoolbox.engine.hooks.rng_state_hook import (collect_rng_state,
                                                        restore_rng_state)
    state = collect_rng_state()
    try:
        _check_datasets(cfg, mode)
    finally:
        restore_rng_state(state)


def _check_datasets(cfg, mode):
    from mmengine.registry import DATASETS

    from invtoolbox.errors import DataError
    for split in run_splits(cfg, mode):
        for label, loader in _loaders(cfg, split):
            dataset_cfg = loader.get('dataset') if isinstance(loader,
                                                              dict) else None
            if not isinstance(dataset_cfg, dict):
                continue
            name = f'{split} dataset' if label == f'{split}_dataloader' else \
                f'{split} dataset {label.rsplit(".", 1)[1]}'
            root = _dataset_root(dataset_cfg)
            try:
                dataset = DATASETS.build(copy.deepcopy(dataset_cfg))
                if len(dataset) == 0:
                    raise DataError(
                        f'it has no samples; put data in {root or "it"} '
                        'or fix its config')
                missing = _missing_file(dataset)
                if missing is not None:
                    raise FileNotFoundError(
                        f'{missing} listed in it does not exist; restore the '
                        'file or fix the dataset')
                dataset[0]
            except Exception as err:
                if not is_data_error(err):
                    raise
                message = config_error_message(err, cfg)
                if root and root not in message:
                    name += f' ({root})'
                fail(f'{name}: {message}')


def cap_log_interval(cfg):
    """Log training at least 10 times in a run of ``max_iters``
    iterations: the logger's interval capped at ``max_iters // 10`` (never
    below 1)."""
    logger = (cfg.get('default_hooks') or {}).get('logger')
    max_iters = (cfg.get('train_cfg') or {}).get('max_iters')
    if isinstance(logger, dict) and _is_int(logger.get('interval')) and \
            _is_int(max_iters) and max_iters > 0:
        logger['interval'] = max(1, min(logger['interval'], max_iters // 10))


def add_progress_hook(cfg):
    """Add ``EvalProgressHook`` (progress lines in validation and test)."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(
            isinstance(h, dict) and h.get('type') in (
                'EvalProgressHook', 'invtoolbox.EvalProgressHook')
            for h in hooks):
        hooks.append(dict(type='EvalProgressHook'))
    cfg.custom_hooks = hooks


class LogFileOnly(logging.Filter):
    """Keeps mmengine's environment dump, config dump and hook table, and
    its notes about its own deprecated internals (its CheckpointHook and
    LoggerHook make a ``FileClient`` whatever the config says), off the
    terminal (they still go to the log file)."""

    PREFIXES = ('\n' + '-' * 60 + '\nSystem environment', 'Config:\n',
                'Hooks will be executed in the following order',
                '"FileClient" will be deprecated in future',
                '"HardDiskBackend" is the alias of "LocalBackend"')

    def filter(self, record):
        return not (isinstance(record.msg, str)
                    and record.msg.startswith(self.PREFIXES))


@contextlib.contextmanager
def details_to_log_file():
    """While the Runner is built, give its logger's console handler the
    :class:`LogFileOnly` filter."""
    from mmengine.runner import Runner
    original = Runner.build_logger

    def build_logger(self, *args, **kwargs):
        logger = original(self, *args, **kwargs)
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(
                    handler, logging.FileHandler):
                handler.addFilter(LogFileOnly())
        return logger

    Runner.build_logger = build_logger
    try:
        yield
    finally:
        Runner.build_logger = original


def log_header(runner, config_path, mode):
    """A few lines on the terminal (and in the log): what runs where."""
    from mmengine.device import get_device
    log_files = [
        h.baseFilename for h in runner.logger.handlers
        if isinstance(h, logging.FileHandler)
    ]
    cfg = runner.cfg
    lines = [f'{mode}: {config_path}, work dir {runner.work_dir}']
    device = f'device {get_device()}'
    if runner.world_size > 1:
        device += f' x {runner.world_size} processes'
    details = [device, f'seed {runner.seed}']
    if mode == 'train':
        train_cfg = cfg.get('train_cfg') or {}
        for key, unit in (('max_iters', 'iterations'), ('max_epochs',
                                                        'epochs')):
            if key in train_cfg:
                details.append(f'{train_cfg[key]} {unit}')
        if 'val_interval' in train_cfg and 'val' in run_splits(cfg, mode):
            details.append(f'validation every {train_cfg["val_interval"]}')
    else:
        details.append(f'checkpoint {cfg.get("load_from")}')
    lines.append(', '.join(details))
    if log_files:
        lines.append(f'environment and full config in {log_files[0]}')
    runner.logger.info('\n'.join(lines))


def interrupted_message(runner, mode):
    """The line printed when the run is stopped with Ctrl-C."""
    from mmengine.runner.base_loop import BaseLoop
    if mode != 'train':
        return 'interrupted; no results were written (run the test again)'
    loop = getattr(runner, '_train_loop', None) if runner else None
    iteration = loop.iter if isinstance(loop, BaseLoop) else 0
    message = f'interrupted at iteration {iteration}; resume with --resume'
    last = osp.join(str(runner.work_dir), 'last_checkpoint') if runner \
        else None
    if last and osp.isfile(last):
        with open(last) as f:
            checkpoint = f.read().strip()
        if checkpoint:
            message += f' (from {osp.basename(checkpoint)}, the last ' \
                'checkpoint)'
    elif loop is not None:
        message += ' (no checkpoint was written yet: it starts over)'
    return message


def raised_by_interrupt(err):
    """Whether ``err`` was raised while handling a ``KeyboardInterrupt``
    (mmengine's ``Config.pretty_text``, run at every checkpoint, turns any
    exception of the formatter, Ctrl-C included, into a ``SyntaxError``)."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, KeyboardInterrupt):
            return True
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return False


def exit_interrupted(message):
    """Exit with status 130 (128 + SIGINT) after one line on stderr."""
    if os.environ.get('INVTB_TRACEBACK') == '1':
        raise KeyboardInterrupt
    print(message, file=sys.stderr, flush=True)
    sys.exit(130)


def _resume_seed(checkpoint):
    """The seed stored in a checkpoint the run is about to resume from (read
    under the trust policy, as the Runner will read it)."""
    try:
        loaded = _read_checkpoint(checkpoint)
    except Exception:  # unreadable or refused: the Runner reports it
        return None
    return _meta(loaded).get('seed')


def _read_checkpoint(path, mmap=True):
    """A checkpoint under the trust policy (memory-mapped: cheap; without
    ``mmap`` a damaged file gives the real reason, not mmap's complaint)."""
    from invtoolbox.utils import load_checkpoint_file
    return load_checkpoint_file(path, 'cpu', mmap=mmap)


def _meta(loaded):
    meta = loaded.get('meta') if isinstance(loaded, dict) else None
    return meta if isinstance(meta, dict) else {}


#: Names CheckpointHook gives its checkpoints (filename_tmpl's default).
CHECKPOINT_NAME = re.compile(r'^(iter|epoch)_(\d+)\.pth$')


def _checkpoint_number(path):
    found = CHECKPOINT_NAME.match(osp.basename(path))
    return int(found.group(2)) if found else None


def _damage(path):
    """Why checkpoint ``path`` cannot be resumed from, or None (it loads
    under the trust policy and holds weights and the training position)."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return 'missing'
    if size == 0:
        return 'empty, 0 bytes'
    with open(path, 'rb') as f:
        zipped = f.read(4) == b'PK\x03\x04'  # torch.save's zip archive
    if zipped and not zipfile.is_zipfile(path):
        return f'{size} bytes, truncated: its zip archive has no end'
    try:
        loaded = _read_checkpoint(path, mmap=False)
    except Exception as err:
        text = str(err)
        found = re.search(r'cannot be read \((.*)\); check', text)
        detail = found.group(1) if found else one_line(err)
        return f'{size} bytes, unreadable: {detail}'
    if not isinstance(loaded, dict) or 'state_dict' not in loaded or \
            'iter' not in _meta(loaded):
        return (f'{size} bytes, not a training checkpoint (no state_dict '
                'or meta.iter)')
    return None


def _resume_candidates(work_dir):
    """``(candidates, note)``: the checkpoints of a work dir, newest first
    (the file ``last_checkpoint`` names, then ``iter_N.pth`` /
    ``epoch_N.pth`` by N), and a note when ``last_checkpoint`` is empty or
    names a missing file."""
    named, note = None, None
    record = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(record):
        with open(record) as f:
            named = f.read().strip() or None
        if named is None:
            note = f'{record} is empty'
        elif not osp.isfile(named):
            note = f'{record} names {named}, which does not exist'
            named = None
    folders = {work_dir}
    if named is not None:
        folders.add(osp.dirname(named))
    found = {}
    for folder in folders:
        for name in os.listdir(folder) if osp.isdir(folder) else []:
            if CHECKPOINT_NAME.match(name):
                path = osp.join(folder, name)
                found[osp.realpath(path)] = path
    numbered = sorted(found.values(),
                      key=lambda p: (_checkpoint_number(p), p),
                      reverse=True)
    if named is not None:
        real = osp.realpath(named)
        numbered = [p for p in numbered if osp.realpath(p) != real]
        number = _checkpoint_number(named)
        # the named file first unless a numbered one is newer
        position = 0 if number is None else sum(
            1 for p in numbered if _checkpoint_number(p) > number)
        numbered.insert(position, named)
    return numbered, note


def find_resume_checkpoint(work_dir):
    """The newest readable checkpoint of ``work_dir`` for ``--resume``.

    Damaged files (0 bytes, truncated, not a checkpoint) are skipped with
    one line saying which and why and which file is used; an empty or stale
    ``last_checkpoint`` is reported in that line. Returns None when the work
    dir has no checkpoint; ends the run with one line when it has some but
    none is readable.
    """
    candidates, note = _resume_candidates(work_dir)
    skipped = []
    for path in candidates:
        why = _damage(path)
        if why is None:
            if skipped or note:
                told = [note] if note else []
                told += [f'skipped {p} ({w})' for p, w in skipped]
                print(f'resume: {"; ".join(told)}; resuming from {path}.')
            return path
        skipped.append((path, why))
    if skipped:
        fail(f'no readable checkpoint in {work_dir} to resume from: ' +
             '; '.join(f'{p} ({w})' for p, w in skipped) +
             '; delete the damaged files to train from scratch, or pass '
             '--resume FILE.')
    if note:
        print(f'resume: {note}, and the work dir has no other checkpoint.')
    return None


def setup_resume(cfg, resume):
    """Apply ``--resume`` to ``cfg`` and trust the checkpoint(s) it reads.

    ``--resume`` alone resumes from the newest readable checkpoint of the
    work dir (:func:`find_resume_checkpoint`), read weights-only with the
    allow-list; ``--resume FILE`` from ``FILE``, which is trusted.
    """
    from invtoolbox.utils import trust_checkpoint_path
    if resume is None:
        return
    if resume == 'auto':
        checkpoint = find_resume_checkpoint(cfg.work_dir)
        if checkpoint is None:  # a first run: the config's load_from
            cfg.resume = False
            start = (f"from load_from {cfg.load_from}" if cfg.get('load_from')
                     else 'from scratch')
            print(f'no checkpoint in {cfg.work_dir} to resume from; '
                  f'training starts {start}.')
            return
        cfg.resume, cfg.load_from = True, checkpoint
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


def setup_checkpoint_safety(cfg, config_path):
    """Atomic checkpoints and strict loading for every run (shared with
    test.py).

    mmengine's ``CheckpointHook`` (of a config that names it) becomes
    ``AtomicCheckpointHook`` with the same options, and
    ``CheckpointMatchHook(strict=load_strict)`` is added: a checkpoint that
    does not fit the model ends the run in one line, unless the config sets
    ``load_strict = False`` (``--cfg-options load_strict=False``); parts
    named in ``load_fresh_parts`` may be absent from the checkpoint.
    """
    strict = cfg.get('load_strict', True)
    if not isinstance(strict, bool):
        fail(f'load_strict must be True or False, got {strict!r} (config '
             f'{config_path} or --cfg-options).')
    fresh = cfg.get('load_fresh_parts') or []
    if isinstance(fresh, str):
        fresh = [fresh]
    if not all(isinstance(p, str) and p for p in fresh):
        fail(f'load_fresh_parts must be a list of model part names (e.g. '
             f"['restorer']), got {fresh!r} (config {config_path} or "
             '--cfg-options).')
    hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if isinstance(hook, dict) and hook.get('type') in (
            'CheckpointHook', 'mmengine.CheckpointHook'):
        hook['type'] = 'AtomicCheckpointHook'
    hooks = list(cfg.get('custom_hooks') or [])
    if not all(isinstance(h, dict) for h in hooks):
        fail(f'custom_hooks must be a list of dicts, got {hooks!r}.')
    names = ('CheckpointMatchHook', 'invtoolbox.CheckpointMatchHook')
    own = [h for h in hooks if h.get('type') in names]
    if not own:
        hooks.append(
            dict(type='CheckpointMatchHook', strict=strict,
                 fresh_parts=list(fresh)))
    else:  # the config variables win
        for h in own:
            if 'load_strict' in cfg:
                h['strict'] = strict
            if 'load_fresh_parts' in cfg:
                h['fresh_parts'] = list(fresh)
    cfg.custom_hooks = hooks


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
def runner_session(cfg, launcher, config_path, mode='train'):
    """Build mmengine's Runner for ``cfg`` and yield it (shared with test.py).

    Before building it, checks the config's values and adds the progress
    hook (and for training caps the logger's interval); once built, checks
    every dataset the run reads (``mode``: ``'train'`` or ``'test'``).
    Sets up gloo first when ``launcher`` is distributed and no GPU is
    present, turns config and data errors (when building or while running,
    worker processes included) into one line, Ctrl-C into one line and
    exit status 130, and destroys a process group it created itself. The
    environment and config dumps go to the log file only; the terminal
    gets a short header.
    """
    from invtoolbox.utils import setup_cpu_distributed
    cfg.launcher = launcher
    runner = None
    try:
        own_group = setup_cpu_distributed(cfg, launcher)
    except ValueError as err:
        fail(str(err))
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    try:
        check_config_values(cfg, config_path, mode)
        add_progress_hook(cfg)
        if mode == 'train':
            cap_log_interval(cfg)
        try:
            with details_to_log_file():
                if 'runner_type' in cfg:
                    runner = RUNNERS.build(cfg)
                else:
                    runner = Runner.from_cfg(cfg)
        except Exception as err:
            fail(f'cannot build the runner from config {config_path}: '
                 f'{one_line(err)}')
        log_header(runner, config_path, mode)
        check_datasets(cfg, mode)
        try:
            yield runner
        except KeyboardInterrupt:
            exit_interrupted(interrupted_message(runner, mode))
        except Exception as err:
            if raised_by_interrupt(err):  # e.g. mmengine's pretty_text
                exit_interrupted(interrupted_message(runner, mode))
            if not is_config_error(err):
                raise
            fail(config_error_message(err, cfg))
        if own_group:
            drain_process_group()
    except KeyboardInterrupt:
        exit_interrupted(
            interrupted_message(runner, mode) if runner else
            f'interrupted before {"training" if mode == "train" else "testing"}'
            ' started')
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
    setup_checkpoint_safety(cfg, args.config)
    # Every checkpoint (the run's own included) is loaded weights-only with
    # the allow-list; only a file given to --resume CKPT is trusted.
    register_checkpoint_loader()
    add_rng_state_hook(cfg)

    with runner_session(cfg, args.launcher, args.config) as runner:
        runner.train()
    return 0


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:  # before the Runner (runner_session has its own)
        exit_interrupted('interrupted before training started')
