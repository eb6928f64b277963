# Copyright (c) invtoolbox contributors. All rights reserved.
"""The InvISP model: official objective, test round trip, one-line errors,
memory-efficient training."""
import pytest
import torch

from invtoolbox.registry import MODELS
from invtoolbox.structures import DataSample

SMALL = dict(type='InvISPNet', block_num=2,
             subnet=dict(type='DenseBlock', growth=8, init='xavier',
                         init_scale=1.0, zero_init_last=False))


def build(**kwargs):
    torch.manual_seed(0)
    return MODELS.build(dict(type='InvISP', generator=dict(SMALL), **kwargs))


def samples(gt):
    return [DataSample(gt_img=g) for g in gt]


def test_loss_is_the_official_objective():
    model = build()
    raw, gt = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    losses = model(raw, samples(gt), mode='loss')
    rgb = model.generator(raw).clamp(0, 1)
    recovered = model.generator(model.jpeg(rgb), rev=True)
    assert torch.allclose(losses['loss_rgb'], (rgb - gt).abs().mean())
    assert torch.allclose(losses['loss_raw'], (recovered - raw).abs().mean())
    sum(losses.values()).backward()
    assert all(p.grad is not None for p in model.generator.parameters())


def test_loss_weights():
    model = build(train_cfg=dict(rgb_weight=2.0, raw_weight=0.5))
    raw, gt = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    plain = build().compute_losses(raw, gt)
    weighted = model.compute_losses(raw, gt)
    assert torch.allclose(weighted['loss_rgb'], 2 * plain['loss_rgb'])
    assert torch.allclose(weighted['loss_raw'], 0.5 * plain['loss_raw'])


def test_predict_goes_through_a_real_jpeg():
    model = build().eval()
    raw, gt = torch.rand(1, 3, 32, 48), torch.rand(1, 3, 32, 48)
    (out, ) = model(raw, samples(gt), mode='predict')
    assert out.pred_img.shape == (3, 32, 48)
    # the decoded JPEG is 8-bit
    assert torch.allclose(out.pred_img * 255, (out.pred_img * 255).round(),
                          atol=1e-4)
    assert torch.equal(out.gt_img, gt[0]) and torch.equal(out.gt_raw, raw[0])
    assert 0 <= out.pred_raw.min() and out.pred_raw.max() <= 1
    assert out.num_bytes > 100 and out.bpp == 8 * out.num_bytes / (32 * 48)
    # without a codec the recovery inverts the clamped rendering
    exact = build(test_cfg=dict(codec=None)).eval()
    result = exact.roundtrip(raw)
    assert result.num_bytes is None
    inside = (exact.generator(raw) - result.rgb).abs().max() == 0
    if inside:  # nothing was clamped: the inverse is exact
        assert (result.raw - raw).abs().max() < 1e-4


def test_bad_inputs_are_one_line():
    model = build()
    with pytest.raises(ValueError, match=r'\(N, 3, H, W\)'):
        model(torch.rand(1, 4, 16, 16), samples(torch.rand(1, 3, 16, 16)),
              mode='loss')
    with pytest.raises(ValueError, match='gt_img'):
        model(torch.rand(1, 3, 16, 16), [DataSample()], mode='loss')
    with pytest.raises(ValueError, match='differ in shape'):
        model(torch.rand(1, 3, 16, 16), samples(torch.rand(1, 3, 32, 16)),
              mode='loss')


@pytest.mark.parametrize('loss', ['loss_rgb', 'loss_raw'])
def test_memory_efficient_training_gives_the_same_gradients(loss):
    """Memory-efficient training recomputes the activations from the
    outputs. Both modes are compared with a float64 run. The RAW loss runs
    the network forward then backward, whose parameter gradients nearly
    cancel (exactly, where nothing is clamped or JPEG-coded): float32
    gradients of it are ill-conditioned (~3e-4 relative even in plain
    mode), and recomputation may add up to a few times that; a wrong
    recomputation gives O(1) errors."""
    torch.manual_seed(0)
    raw, gt = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)

    def gradients(efficient, dtype):
        torch.manual_seed(0)
        model = MODELS.build(
            dict(type='InvISP',
                 generator=dict(SMALL, memory_efficient=efficient)))
        model.to(dtype)
        losses = model.compute_losses(raw.to(dtype), gt.to(dtype))
        losses[loss].backward()
        return [p.grad.double() for p in model.generator.parameters()]

    exact = gradients(False, torch.float64)

    def error(grads):
        return max(((g - e).abs().max() / e.abs().max()).item()
                   for g, e in zip(grads, exact))

    plain, efficient = error(gradients(False, torch.float32)), error(
        gradients(True, torch.float32))
    factor = 3 if loss == 'loss_rgb' else 10
    assert efficient <= factor * plain + 1e-6, (efficient, plain)
    assert efficient < (1e-5 if loss == 'loss_rgb' else 1e-2)


def test_the_official_network_size():
    net = MODELS.build(dict(type='InvISPNet'))
    assert sum(p.numel() for p in net.parameters()) == 1_413_760
    assert len(net.state_dict()) == 8 * (5 + 30)  # 280, as the official
    with pytest.raises(ValueError, match='channel_out'):
        MODELS.build(dict(type='InvISPNet', channel_out=4))
