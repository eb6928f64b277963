# Copyright (c) invtoolbox contributors. All rights reserved.
import pytest
import torch

from invtoolbox.models.subnets import (Bottleneck, ConvBlock, DenseBlock,
                                       ResBlock)
from invtoolbox.registry import SUBNETS


@pytest.mark.parametrize('name', sorted(SUBNETS.module_dict))
def test_shapes_and_zero_last_layer(name):
    net = SUBNETS.build(dict(type=name, in_channels=5, out_channels=7))
    x = torch.rand(2, 5, 9, 11)
    out = net(x)
    assert out.shape == (2, 7, 9, 11)
    # zero-initialised last layer: a fresh coupling is an identity
    assert torch.equal(out, torch.zeros_like(out))
    for p in net.parameters():
        p.data.normal_(0, 0.1)
    out = net(x)
    assert out.abs().sum() > 0
    out.square().sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_dense_block_matches_irn_layout_and_init():
    torch.manual_seed(0)
    net = DenseBlock(9, 3)
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert shapes['conv1.weight'] == (32, 9, 3, 3)
    assert shapes['conv5.weight'] == (3, 137, 3, 3)  # IRN F subnet @12 ch
    assert set(shapes) == {f'conv{i}.{p}' for i in range(1, 6)
                           for p in ('weight', 'bias')}
    # xavier_normal x 0.1: std = 0.1 * sqrt(2 / (fan_in + fan_out))
    fan_in, fan_out = 9 * 9, 32 * 9
    expected = 0.1 * (2 / (fan_in + fan_out))**0.5
    assert abs(net.conv1.weight.std().item() - expected) < 0.25 * expected
    assert net.conv1.bias.abs().sum() == 0
    assert net.conv5.weight.abs().sum() == 0
    kaiming = DenseBlock(9, 3, init='kaiming', zero_init_last=False)
    assert kaiming.conv5.weight.abs().sum() > 0


def test_conv_block_is_the_invcompress_bottleneck_by_default():
    net = ConvBlock(12, 36, hidden_channels=16, kernel_size=5)
    kernels = [m.kernel_size for m in net.layers if hasattr(m, 'kernel_size')]
    assert kernels == [(5, 5), (1, 1), (5, 5)]


@pytest.mark.parametrize('cls,kwargs,match', [
    (DenseBlock, dict(in_channels=0, out_channels=3), 'in_channels'),
    (DenseBlock, dict(in_channels=3, out_channels=3, init='normal'),
     "unknown init 'normal'"),
    (ResBlock, dict(in_channels=3, out_channels=3, activation='swish'),
     "unknown activation 'swish'"),
    (ConvBlock, dict(in_channels=3, out_channels=3, num_layers=1),
     'num_layers must be >= 2'),
    (ConvBlock, dict(in_channels=3, out_channels=3, kernel_size=4),
     'kernel sizes must be odd'),
])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_bottleneck_matches_invcompress_layout_and_init():
    torch.manual_seed(0)
    net = SUBNETS.build(dict(type='Bottleneck', kernel_size=5,
                             in_channels=48, out_channels=144))
    assert isinstance(net, Bottleneck)
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert shapes == {
        'conv1.weight': (144, 48, 5, 5), 'conv1.bias': (144, ),
        'conv2.weight': (144, 144, 1, 1), 'conv2.bias': (144, ),
        'conv3.weight': (144, 144, 5, 5), 'conv3.bias': (144, )
    }
    # official initialize_weights_xavier(0.1): xavier_normal x 0.1, bias 0
    for conv, fan_in, fan_out in ((net.conv1, 48 * 25, 144 * 25),
                                  (net.conv2, 144, 144)):
        expected = 0.1 * (2 / (fan_in + fan_out))**0.5
        assert abs(conv.weight.std().item() - expected) < 0.1 * expected
        assert conv.bias.abs().sum() == 0
    assert net.conv3.weight.abs().sum() == 0 and net.conv3.bias.abs().sum() == 0
    assert [m.negative_slope for m in net.modules()
            if isinstance(m, torch.nn.LeakyReLU)] == [0.2]
    with pytest.raises(ValueError, match='kernel_size must be a positive odd'):
        Bottleneck(3, 3, kernel_size=4)
