# Copyright (c) invtoolbox contributors. All rights reserved.
"""tools/train.py, tools/test.py and tools/dist_train.sh end to end.

Everything runs on the toy setup of ``tests/data`` (a 2-conv restorer on
8x8 random images, 8 iterations, checkpoints at 3, 6 and 8, validation at 3
and 6). The training runs are real subprocesses, started together by the
module fixture (2 cores: they overlap their start-up) and awaited by the
tests that need them:

- ``u0``/``u2``: uninterrupted runs with 0 and 2 dataloader workers;
- ``k0``/``k2``: the same runs SIGKILLed after iteration 5 (by
  ``ToyCrashHook``), later resumed with ``--resume`` (from iteration 3);
- ``dist``: ``tools/dist_train.sh CONFIG 2`` (gloo) with deterministic data,
  SGD, and ``single``: one process on the concatenated batches.
"""
import collections
import glob
import json
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import threading

import pytest
import torch

from tests.helpers import HANG_TIMEOUT, REPO_ROOT

TOOLS = REPO_ROOT / 'tools'
DATA = REPO_ROOT / 'tests' / 'data'
CONFIG = str(DATA / 'toy_config.py')
# Deterministic data and loss, plain SGD (Adam would hide a sum-vs-mean bug).
DDP_OPTIONS = [
    'model.noise_std=0', 'train_dataloader.dataset.augment=False',
    'optim_wrapper.optimizer.type=SGD', 'optim_wrapper.optimizer.lr=0.5'
]
LOGGED = ('loss', 'loss_pix', 'lr')


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def tool_env(**extra):
    env = dict(os.environ)
    env.pop('TOY_CRASH_AT_ITER', None)
    paths = [str(DATA), str(REPO_ROOT)]
    if env.get('PYTHONPATH'):
        paths.append(env['PYTHONPATH'])
    env.update(
        PYTHONPATH=os.pathsep.join(paths),
        PYTHON=sys.executable,
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1')
    env.update(extra)
    return env


class Job:
    """A tool run in its own session, its output in a log file.

    With ``after=job`` it starts (from a thread) once ``job`` has ended, so
    chains of runs overlap with the other runs on the 2 cores.
    """

    def __init__(self, cmd, log, after=None, **env):
        self.cmd = [str(c) for c in cmd]
        self.log = str(log)
        self.env = tool_env(**env)
        self.proc = None
        self._thread = None
        if after is None:
            self._start()
        else:
            self._thread = threading.Thread(
                target=lambda: (after.wait(), self._start()), daemon=True)
            self._thread.start()

    def _start(self):
        with open(self.log, 'w') as out:
            self.proc = subprocess.Popen(
                self.cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=str(osp.dirname(self.log)),
                start_new_session=True)

    def wait(self, timeout=HANG_TIMEOUT):
        if self._thread is not None:
            self._thread.join(timeout)
        return self.proc.wait(timeout=timeout)

    @property
    def output(self):
        with open(self.log) as f:
            return f.read()

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def train_job(tmp, name, *args, log=None, after=None, **env):
    return Job([sys.executable, TOOLS / 'train.py', CONFIG, '--work-dir',
                tmp / name, *args],
               tmp / f'{log or name}.log',
               after=after,
               **env)


class _ShellPayload:
    """Unpickling this runs a shell command (weights-only loading stops it)."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command, )


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('tool_runs')
    malicious = tmp / 'downloaded' / 'pretrained.pth'
    malicious.parent.mkdir()
    torch.save(
        dict(
            state_dict={'conv1.weight': torch.zeros(8, 3, 3, 3)},
            payload=_ShellPayload(f'touch {tmp / "pwned"}')), malicious)
    workers2 = ['--cfg-options', 'train_dataloader.num_workers=2']
    jobs = dict(tmp=tmp)
    jobs['u0'] = train_job(tmp, 'u0')
    jobs['k0'] = train_job(tmp, 'k0', TOY_CRASH_AT_ITER='5')
    jobs['u2'] = train_job(tmp, 'u2', *workers2)
    jobs['k2'] = train_job(tmp, 'k2', *workers2, TOY_CRASH_AT_ITER='5')
    jobs['dist'] = Job([
        'bash', TOOLS / 'dist_train.sh', CONFIG, '2', '--work-dir',
        tmp / 'dist', '--cfg-options', *DDP_OPTIONS
    ], tmp / 'dist.log', PORT=str(free_port()))
    jobs['single'] = train_job(tmp, 'single', '--cfg-options', *DDP_OPTIONS,
                               'train_dataloader.batch_size=4')
    jobs['load_from'] = train_job(tmp, 'load_from', '--cfg-options',
                                  f'load_from={malicious}')
    # second stage: resume the killed runs, test the finished one
    jobs['r0'] = train_job(
        tmp, 'k0', '--resume', log='r0', after=jobs['k0'])
    jobs['r2'] = train_job(
        tmp, 'k2', '--resume', *workers2, log='r2', after=jobs['k2'])
    jobs['test'] = Job([
        sys.executable, TOOLS / 'test.py', CONFIG, tmp / 'u0' / 'iter_8.pth',
        '--work-dir', tmp / 'test_wd', '--out', tmp / 'results.json'
    ], tmp / 'test.log', after=jobs['u0'])
    yield jobs
    for job in jobs.values():
        if isinstance(job, Job):
            job.kill()


def logged_scalars(work_dir):
    """step -> list of (loss, loss_pix, lr), over every run in work_dir."""
    scalars = collections.defaultdict(list)
    files = glob.glob(osp.join(str(work_dir), '*', 'vis_data',
                               'scalars.json'))
    for path in sorted(files):
        with open(path) as f:
            for line in f:
                entry = json.loads(line)
                if 'loss' in entry:
                    scalars[entry['step']].append(
                        tuple(entry[k] for k in LOGGED))
    return scalars


def final_weights(work_dir, name='iter_8.pth'):
    return torch.load(
        osp.join(str(work_dir), name), map_location='cpu',
        weights_only=False)['state_dict']


def assert_ok(job):
    rc = job.wait()
    assert rc == 0, job.output[-3000:]


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize('workers', [0, 2])
def test_killed_and_resumed_run_equals_uninterrupted_run(runs, workers):
    tmp = runs['tmp']
    uninterrupted, killed = runs[f'u{workers}'], runs[f'k{workers}']
    assert killed.wait() == -signal.SIGKILL, killed.output[-3000:]
    work_dir = tmp / f'k{workers}'
    assert 'Saving checkpoint at 3 iterations' in killed.output
    assert 'Iter(train) [5/8]' in killed.output
    assert 'Iter(train) [6/8]' not in killed.output

    resumed = runs[f'r{workers}']
    assert_ok(resumed)
    assert 'resumed epoch: 0, iter: 3' in resumed.output
    assert_ok(uninterrupted)

    expected = logged_scalars(tmp / f'u{workers}')
    got = logged_scalars(work_dir)
    assert sorted(expected) == list(range(1, 9))
    assert sorted(got) == list(range(1, 9))
    # steps 4 and 5 were logged by the killed run and again after resuming
    assert [len(got[s]) for s in range(1, 9)] == [1, 1, 1, 2, 2, 1, 1, 1]
    for step in range(1, 9):
        assert all(v == expected[step][0] for v in got[step]), (
            step, expected[step], got[step])
    assert len({expected[s][0][0] for s in expected}) == 8  # losses vary
    a, b = final_weights(tmp / f'u{workers}'), final_weights(work_dir)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.e2e
@pytest.mark.slow
def test_dist_train_on_cpu_averages_gradients(runs):
    tmp = runs['tmp']
    assert_ok(runs['dist'])
    assert_ok(runs['single'])
    # the terminal shows a short header; the environment and config dumps
    # are in the log file
    assert 'device cpu x 2 processes' in runs['dist'].output
    log_file, = glob.glob(str(tmp / 'dist' / '*' / '*.log'))
    with open(log_file) as f:
        log = f.read()
    assert 'Distributed training: True' in log
    assert 'DeviceAwareDistributedDataParallel' in log
    assert (tmp / 'dist' / 'iter_8.pth').is_file()
    rank0 = torch.load(tmp / 'dist' / 'final_weights_rank0.pth')
    rank1 = torch.load(tmp / 'dist' / 'final_weights_rank1.pth')
    checkpoint = final_weights(tmp / 'dist')
    single = torch.load(tmp / 'single' / 'final_weights_rank0.pth')
    early = final_weights(tmp / 'dist', 'iter_3.pth')
    for key in rank0:
        # both ranks trained on different halves of each batch
        assert torch.equal(rank0[key], rank1[key]), key
        assert torch.equal(rank0[key], checkpoint[key]), key
        # = one process on the concatenated batches (mean of the gradients)
        torch.testing.assert_close(rank0[key], single[key], rtol=0, atol=1e-6)
    moved = max((rank0[k] - early[k]).abs().max().item() for k in rank0)
    assert moved > 1e-3  # a sum of gradients would differ by this much


@pytest.mark.e2e
@pytest.mark.slow
def test_load_from_refuses_untrusted_pickled_objects(runs):
    job = runs['load_from']
    assert job.wait() == 1
    errors = [ln for ln in job.output.splitlines() if ln.startswith('error')]
    assert len(errors) == 1, job.output[-3000:]
    assert 'pretrained.pth holds objects that are not weights' in errors[0]
    assert 'system' in errors[0]  # names the refused global (posix.system)
    assert 'Traceback' not in job.output
    assert not (runs['tmp'] / 'pwned').exists()  # nothing was executed


@pytest.mark.e2e
@pytest.mark.slow
def test_test_tool_evaluates_checkpoint_and_writes_out(runs):
    tmp = runs['tmp']
    job = runs['test']
    assert_ok(job)
    # the run's full checkpoint (message hub, numpy) loads weights-only
    assert 'local_with_policy backend' in job.output
    with open(tmp / 'results.json') as f:
        results = json.load(f)
    assert results['checkpoint'] == str(tmp / 'u0' / 'iter_8.pth')
    psnr = results['metrics']['toy/psnr']
    assert 10 < psnr < 60
    assert json.loads(job.output.strip().splitlines()[-1]) == \
        results['metrics']


def test_out_pkl_adds_dump_results(test_tool):
    from mmengine.config import Config
    for evaluator, expected in [
        (dict(type='ToyPSNR'), [dict(type='ToyPSNR')]),
        ([dict(type='A'), dict(type='B')], [dict(type='A'), dict(type='B')]),
    ]:
        cfg = Config(dict(test_evaluator=evaluator))
        test_tool.add_dump_results(cfg, 'preds.pkl')
        assert cfg.test_evaluator == expected + [
            dict(type='DumpResults', out_file_path='preds.pkl')]
    cfg = Config(
        dict(test_evaluator=dict(type='Evaluator', metrics=dict(type='A'))))
    test_tool.add_dump_results(cfg, 'preds.pkl')
    assert cfg.test_evaluator.metrics == [
        dict(type='A'), dict(type='DumpResults', out_file_path='preds.pkl')]


# ---------------------------------------------------------------------------
# Bad input: one line, no traceback, non-zero exit
# ---------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _forget_trusted_paths():
    """In-process tool calls trust their work dir: undo that afterwards."""
    yield
    from invtoolbox.utils import reset_trusted_checkpoint_paths
    reset_trusted_checkpoint_paths()


def expect_one_line_exit(tool, argv, *fragments):
    with pytest.raises(SystemExit) as err:
        tool.main(argv)
    message = str(err.value.code)
    assert message.startswith('error: '), message
    assert '\n' not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.mark.e2e
def test_missing_config_subprocess_is_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(TOOLS / 'train.py'), 'missing_config.py'],
        capture_output=True,
        text=True,
        env=tool_env(),
        cwd=str(tmp_path))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        'error: config missing_config.py not found; pass the path of a '
        'config .py file.'
    ]
    assert 'Traceback' not in proc.stdout + proc.stderr


@pytest.mark.parametrize('options,fragment', [
    (['train_cfg.max_iters'], "expects KEY=VALUE items, got "
     "'train_cfg.max_iters'"),
    (['=3'], "expects KEY=VALUE items, got '=3'"),
    (["custom_hooks=[dict(type='X',a=1)]"], 'cannot parse'),
    (['train_cfg.max_iters.value=3'], 'cannot apply --cfg-options'),
])
def test_bad_cfg_options(train_tool, monkeypatch, tmp_path, options,
                         fragment):
    monkeypatch.syspath_prepend(str(DATA))
    expect_one_line_exit(
        train_tool,
        [CONFIG, '--work-dir', str(tmp_path), '--cfg-options', *options],
        fragment)


def test_train_bad_input(train_tool, test_tool, monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(DATA))
    for name in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(name, raising=False)
    wd = ['--work-dir', str(tmp_path)]
    expect_one_line_exit(train_tool, [CONFIG, *wd, '--resume', 'nope.pth'],
                         'checkpoint nope.pth given to --resume not found')
    expect_one_line_exit(train_tool, [CONFIG, *wd, '--launcher', 'pytorch'],
                         'environment variable RANK')
    if not torch.cuda.is_available():
        expect_one_line_exit(train_tool, [CONFIG, *wd, '--amp'],
                             '--amp needs a CUDA GPU')
    broken = tmp_path / 'broken.py'
    broken.write_text('model = dict(type=\n')
    expect_one_line_exit(train_tool, [str(broken)], 'cannot load config',
                         'broken.py')


def test_test_bad_input(test_tool, monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(DATA))
    expect_one_line_exit(test_tool, ['missing.py', 'x.pth'],
                         'config missing.py not found')
    expect_one_line_exit(test_tool, [CONFIG, str(tmp_path / 'nope.pth')],
                         f'checkpoint {tmp_path / "nope.pth"} not found')
    weights = tmp_path / 'weights.pth'
    torch.save({'state_dict': {}}, weights)
    expect_one_line_exit(test_tool,
                         [CONFIG, str(weights), '--out', 'results.txt'],
                         '--out results.txt: use a .json')


# ---------------------------------------------------------------------------
# Launch scripts
# ---------------------------------------------------------------------------
@pytest.mark.e2e
@pytest.mark.parametrize('gpus_per_node,gres', [('0', None),
                                                ('2', '--gres=gpu:2')])
def test_slurm_train_composes_srun(tmp_path, gpus_per_node, gres):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    srun = bin_dir / 'srun'
    srun.write_text('#!/usr/bin/env bash\n'
                    'printf "%s\\n" "$@" > "$RECORD"\n'
                    'echo "$PYTHONPATH" > "$RECORD.pythonpath"\n')
    srun.chmod(0o755)
    record = tmp_path / 'srun_args'
    env = tool_env(
        PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}',
        RECORD=str(record),
        GPUS='4',
        GPUS_PER_NODE=gpus_per_node,
        CPUS_PER_TASK='2',
        SRUN_ARGS='--exclusive --time=10',
        PYTHON='python3')
    subprocess.run([
        'bash',
        str(TOOLS / 'slurm_train.sh'), 'gpu_part', 'irn', CONFIG, 'wd',
        '--seed', '3'
    ],
                   env=env,
                   check=True)
    args = record.read_text().splitlines()
    tasks_per_node = '4' if gres is None else '2'
    head = ['-p', 'gpu_part', '--job-name=irn'] + ([gres] if gres else [])
    assert args[:len(head)] == head
    assert args[len(head):len(head) + 6] == [
        '--ntasks=4', f'--ntasks-per-node={tasks_per_node}',
        '--cpus-per-task=2', '--kill-on-bad-exit=1', '--exclusive',
        '--time=10'
    ]
    tail = args[len(head) + 6:]
    assert tail[:2] == ['python3', '-u']
    assert tail[2].endswith(osp.join('tools', 'train.py'))
    assert tail[3:] == [
        CONFIG, '--work-dir=wd', '--launcher', 'slurm', '--seed', '3'
    ]
    pythonpath = (tmp_path / 'srun_args.pythonpath').read_text()
    assert pythonpath.split(os.pathsep)[0].endswith('tools/..')


@pytest.mark.e2e
@pytest.mark.parametrize('script,args', [('dist_train.sh', [CONFIG]),
                                         ('dist_test.sh', [CONFIG, 'x.pth']),
                                         ('slurm_train.sh', ['p', 'j'])])
def test_launch_scripts_print_usage(script, args):
    proc = subprocess.run(['bash', str(TOOLS / script), *args],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith('usage: ')
