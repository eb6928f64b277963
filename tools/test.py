# Copyright (c) invtoolbox contributors. All rights reserved.
"""Evaluate a checkpoint on the test set of a config with mmengine's Runner.

Usage::

    python tools/test.py CONFIG CHECKPOINT [--out results.json|results.pkl]
        [--work-dir DIR] [--data-root DIR] [--cfg-options KEY=VALUE ...]
        [--launcher none|pytorch|slurm]

    tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [args]

The checkpoint is loaded with ``torch.load(weights_only=True)`` (tensors,
plain data and the numpy/mmengine objects of mmengine checkpoints; nothing
in the file is executed). ``--out x.json`` writes the metrics,
``--out x.pkl`` the predictions (mmengine ``DumpResults``). ``--data-root
DIR`` points every dataset of the config at ``DIR`` (as in ``train.py``).
Bad input ends with one line ``error: ...`` and exit status 1; Ctrl-C with
one line and exit status 130. The test set is checked (non-empty, its files
present, its first sample readable) before the first batch, and progress is
logged while testing.
"""
import argparse
import json
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

OUT_FORMATS = ('.json', '.pkl', '.pickle')


def _train_tool():
    """``tools/train.py`` as a module: it holds the shared CLI helpers."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        '_invtoolbox_train_tool', osp.join(osp.dirname(__file__), 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


train_tool = _train_tool()
fail = train_tool.fail


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (evaluate) a model.')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file to evaluate')
    parser.add_argument(
        '--out',
        help='write the metrics (.json) or the predictions (.pkl) to this '
        'file')
    parser.add_argument(
        '--work-dir',
        help='folder for the logs (default: the config\'s work_dir, else '
        'work_dirs/<config name>)')
    train_tool.add_data_root_argument(parser)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=train_tool.KeyValueAction,
        metavar='KEY=VALUE',
        help='override config entries, e.g. test_dataloader.batch_size=1')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm'],
        default='none',
        help='job launcher (pytorch: torchrun, as in tools/dist_test.sh)')
    parser.add_argument(
        '--local_rank', '--local-rank', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.local_rank is not None and 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def add_dump_results(cfg, out):
    """Append mmengine's ``DumpResults`` (predictions to ``out``)."""
    dump = dict(type='DumpResults', out_file_path=out)
    evaluator = cfg.test_evaluator
    if isinstance(evaluator, (list, tuple)):
        cfg.test_evaluator = list(evaluator) + [dump]
    elif 'metrics' in evaluator:  # dict(type='Evaluator', metrics=...)
        metrics = evaluator['metrics']
        metrics = list(metrics) if isinstance(metrics, (list, tuple)) \
            else [metrics]
        evaluator['metrics'] = metrics + [dump]
    else:
        cfg.test_evaluator = [evaluator, dump]


def write_json(path, content):
    """Write ``content`` to ``path`` atomically (never half a file), with
    the project's writer (temporary file, fsync, rename)."""
    from invtoolbox.apis.checkpoint_io import write_file_atomic
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    text = json.dumps(content, indent=2)
    write_file_atomic(path, lambda f: f.write(text.encode('utf-8')))


def main(argv=None):
    args = parse_args(argv)

    from invtoolbox.utils import register_checkpoint_loader
    train_tool.register_modules()
    cfg = train_tool.load_config(args.config, args.cfg_options,
                                 args.data_root)
    if not osp.isfile(args.checkpoint):
        fail(f'checkpoint {args.checkpoint} not found; pass an existing '
             '.pth file.')
    if args.out is not None and not args.out.endswith(OUT_FORMATS):
        fail(f'--out {args.out}: use a .json (metrics) or .pkl '
             '(predictions) file name.')
    if cfg.get('test_dataloader') is None or cfg.get(
            'test_evaluator') is None:
        fail(f'config {args.config} has no test_dataloader/test_evaluator '
             'to test with.')

    train_tool.set_work_dir(cfg, args.work_dir, args.config)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    # A config's load_strict / load_fresh_parts are about its load_from
    # (training): the tested checkpoint must fit, unless --cfg-options says.
    cfg.load_strict = (args.cfg_options or {}).get('load_strict', True)
    cfg.load_fresh_parts = (args.cfg_options or {}).get('load_fresh_parts',
                                                        [])
    train_tool.setup_checkpoint_safety(cfg, args.config)
    if args.out is not None and not args.out.endswith('.json'):
        add_dump_results(cfg, args.out)
    # Nothing is trusted here: the checkpoint is loaded weights-only.
    register_checkpoint_loader()

    from mmengine.dist import is_main_process
    with train_tool.runner_session(
            cfg, args.launcher, args.config, mode='test') as runner:
        metrics = runner.test()
        if is_main_process():
            metrics = {k: _plain(v) for k, v in metrics.items()}
            if args.out is not None and args.out.endswith('.json'):
                write_json(
                    args.out,
                    dict(
                        config=args.config,
                        checkpoint=args.checkpoint,
                        metrics=metrics))
            print(json.dumps(metrics))
    return 0


def _plain(value):
    """Metric values as JSON numbers/strings (numpy and tensors included)."""
    if hasattr(value, 'tolist'):
        return value.tolist()
    return value if isinstance(value, (int, float, str, bool, list,
                                       dict)) else str(value)


if __name__ == '__main__':
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # before the Runner (runner_session has its own)
        train_tool.exit_interrupted('interrupted before testing started')
