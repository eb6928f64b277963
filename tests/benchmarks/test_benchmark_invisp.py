# Copyright (c) invtoolbox contributors. All rights reserved.
"""benchmarks/benchmark_invisp.py: the speed-up candidates compute the
official function, and the script prints its table at a tiny size (workers
in this process)."""
import contextlib
import io
import json

import pytest
import torch


@pytest.fixture(scope='module')
def bench():
    from benchmarks import benchmark_invisp
    return benchmark_invisp


def _losses_and_grads(bench, impl, raw, rgb, dtype=torch.float32):
    from benchmarks import invisp_restatement
    net, note = bench.build_net(impl)
    assert note == ''
    net.to(dtype)
    rgb_loss, raw_loss = invisp_restatement.official_losses(
        net, invisp_restatement.DiffJPEG().to(dtype), raw.to(dtype),
        rgb.to(dtype))
    (rgb_loss + raw_loss).backward()
    inner = getattr(net, 'net', net)
    return (rgb_loss + raw_loss).item(), inner.state_dict(), {
        name: p.grad.double() for name, p in inner.named_parameters()
    }


@pytest.fixture(scope='module')
def official_step(bench):
    """Inputs, the float64 re-statement's loss and gradients, and the
    float32 re-statement's (loss, state dict, gradients)."""
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(3)
    raw, rgb = torch.rand(2, 1, 3, 16, 16, generator=gen)
    exact = _losses_and_grads(bench, 'restatement', raw, rgb, torch.float64)
    return raw, rgb, exact, _losses_and_grads(bench, 'restatement', raw, rgb)


def _grad_error(grads, exact):
    """Largest gradient error relative to the tensor's largest entry."""
    return max(((grads[k] - g).abs().max() / g.abs().max()).item()
               for k, g in exact.items())


@pytest.mark.parametrize('impl', ['channels_last', 'channels_last_input',
                                  'pad16', 'channels_last+pad16'])
def test_candidates_compute_the_official_function(bench, official_step,
                                                  impl):
    raw, rgb, (loss64, _, grads64), (loss0, state0, grads0) = official_step
    loss, state, grads = _losses_and_grads(bench, impl, raw, rgb)
    # same parameters, same state dict (keys and values)
    assert list(state) == list(state0)
    assert all(torch.equal(state[k], state0[k]) for k in state0)
    assert abs(loss - loss0) <= 1e-5 * abs(loss0)
    # The gradients of 8 non-near-identity couplings amplify float32
    # round-off (the re-statement itself is ~0.5% off float64 on some
    # tensors): a candidate must stay as close to float64 as the
    # re-statement is, and a wrong function would be off by O(1).
    base_err = _grad_error(grads0, grads64)
    assert base_err < 0.05
    assert _grad_error(grads, grads64) <= 3 * base_err
    assert abs(loss - loss64) <= 1e-5 * abs(loss64)


def test_padded_conv_equals_conv_and_keeps_parameters(bench):
    conv = torch.nn.Conv2d(7, 2, 3, 1, 1)
    padded = bench.PaddedOutConv2d(7, 2, 3, 1, 1)
    padded.weight, padded.bias = conv.weight, conv.bias
    x = torch.randn(1, 7, 8, 8)
    out = padded(x)
    assert out.shape == (1, 2, 8, 8)
    assert (out - conv(x)).abs().max().item() < 1e-5
    out.sum().backward()
    assert conv.weight.grad.shape == (2, 7, 3, 3)
    assert [n for n, _ in padded.named_parameters()] == ['weight', 'bias']


def test_size_must_be_a_multiple_of_16(bench, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(['--size', '40'])
    assert 'must be a positive multiple of 16' in capsys.readouterr().err


def test_table_rows_and_ratios(bench, monkeypatch, capsys, tmp_path):

    def in_process(module, options, measure, threads):
        assert module == 'benchmarks.benchmark_invisp'
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            bench.main(['--_measure', measure] + list(options))
        return json.loads(out.getvalue().strip().splitlines()[-1])

    monkeypatch.setattr(bench, 'run_measurement', in_process)
    monkeypatch.setattr(bench, 'INVTOOLBOX_NET',
                        'invtoolbox.models.editors.no_such_module.InvISPNet')
    rows_file = tmp_path / 'rows.json'
    threads = torch.get_num_threads()
    try:
        bench.main(['--size', '16', '--repeats', '1', '--warmup', '0',
                    '--rounds', '2', '--threads', '1', '--impls', 'restatement',
                    'channels_last+pad16', 'invtoolbox', '--json',
                    str(rows_file)])
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert ('batch 1, 16x16, CPU, 1 thread, median and fastest of 2 x 1 '
            'steps after 0 warm-up') in out
    table = [line for line in out.splitlines() if line.startswith('| ')][1:]
    assert [line.split(' | ')[0] for line in table] == [
        '| official re-statement', '| channels_last + conv5 padded to 16',
        '| invtoolbox `InvISPNet`'
    ]
    assert table[0].split(' | ')[3] == table[0].split(' | ')[5] == '1.00x'
    assert table[1].endswith(' | CPU, 1 thread |')
    assert 'absent (No module named' in table[2]
    rows = json.loads(rows_file.read_text())
    base, candidate = rows[0], rows[1]
    assert base['params'] == candidate['params'] == 1_413_760
    assert abs(base['first_loss'] - candidate['first_loss']) < 1e-5
    for row in rows[:2]:  # two rounds of one step each, pooled
        assert len(row['times_s']) == 2
        assert row['min_s'] == min(row['times_s']) > 0
        assert row['time_s'] >= row['min_s'] and row['peak_mb'] >= 0
