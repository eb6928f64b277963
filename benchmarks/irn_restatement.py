# Copyright (c) invtoolbox contributors. All rights reserved.
"""A straightforward single-file PyTorch re-statement of the official IRN.

This is the *baseline* of ``benchmark_irn.py``: the official
``InvRescaleNet`` (Haar downsampling + ``InvBlockExp`` couplings with dense
subnets) and the official training step (``IRNModel.optimize_parameters``:
forward LR guidance, latent surrogate, Charbonnier reconstruction from the
quantised LR and a Gaussian latent, gradient clipping 10, Adam), written the
plain way the paper's code does it, without invtoolbox. It uses the official
state-dict layout (``operations.i...``), so the official weights load as they
are; ``tests/benchmarks/test_irn_restatement.py`` checks it against the official
reference vectors.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


class DenseBlock(nn.Module):

    def __init__(self, cin, cout, gc=32):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, gc, 3, 1, 1)
        self.conv2 = nn.Conv2d(cin + gc, gc, 3, 1, 1)
        self.conv3 = nn.Conv2d(cin + 2 * gc, gc, 3, 1, 1)
        self.conv4 = nn.Conv2d(cin + 3 * gc, gc, 3, 1, 1)
        self.conv5 = nn.Conv2d(cin + 4 * gc, cout, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            nn.init.xavier_normal_(conv.weight)
            conv.weight.data *= 0.1
            conv.bias.data.zero_()
        self.conv5.weight.data.zero_()
        self.conv5.bias.data.zero_()

    def forward(self, x):
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        return self.conv5(torch.cat((x, x1, x2, x3, x4), 1))


class InvBlockExp(nn.Module):

    def __init__(self, channels, split, clamp=1.0):
        super().__init__()
        self.split1, self.split2 = split, channels - split
        self.clamp = clamp
        self.F = DenseBlock(self.split2, self.split1)
        self.G = DenseBlock(self.split1, self.split2)
        self.H = DenseBlock(self.split1, self.split2)

    def forward(self, x, rev=False):
        x1, x2 = x[:, :self.split1], x[:, self.split1:]
        if not rev:
            y1 = x1 + self.F(x2)
            s = self.clamp * (torch.sigmoid(self.H(y1)) * 2 - 1)
            y2 = x2.mul(torch.exp(s)) + self.G(y1)
        else:
            y1 = x1
            s = self.clamp * (torch.sigmoid(self.H(x1)) * 2 - 1)
            y2 = (x2 - self.G(x1)).div(torch.exp(s))
            y1 = x1 - self.F(y2)
        return torch.cat((y1, y2), 1)


class HaarDownsampling(nn.Module):

    def __init__(self, channels):
        super().__init__()
        self.channels = channels
        w = torch.ones(4, 1, 2, 2)
        w[1, 0, 0, 1] = w[1, 0, 1, 1] = -1
        w[2, 0, 1, 0] = w[2, 0, 1, 1] = -1
        w[3, 0, 1, 0] = w[3, 0, 0, 1] = -1
        self.haar_weights = nn.Parameter(
            torch.cat([w] * channels, 0), requires_grad=False)

    def forward(self, x, rev=False):
        c = self.channels
        if not rev:
            n, _, h, w = x.shape
            out = F.conv2d(x, self.haar_weights, stride=2, groups=c) / 4.0
            out = out.reshape(n, c, 4, h // 2, w // 2).transpose(1, 2)
            return out.reshape(n, 4 * c, h // 2, w // 2)
        n, _, h, w = x.shape
        out = x.reshape(n, 4, c, h, w).transpose(1, 2).reshape(n, 4 * c, h, w)
        return F.conv_transpose2d(out, self.haar_weights, stride=2, groups=c)


class InvRescaleNet(nn.Module):
    """``block_num=[8]`` = IRN x2, ``[8, 8]`` = IRN x4."""

    def __init__(self, channel_in=3, channel_out=3, block_num=(8, 8)):
        super().__init__()
        ops = []
        channels = channel_in
        for blocks in block_num:
            ops.append(HaarDownsampling(channels))
            channels *= 4
            ops += [InvBlockExp(channels, channel_out) for _ in range(blocks)]
        self.operations = nn.ModuleList(ops)

    def forward(self, x, rev=False):
        for op in (reversed(self.operations) if rev else self.operations):
            x = op(x, rev)
        return x


class _Quant(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x):
        return (x.clamp(0, 1) * 255.).round() / 255.

    @staticmethod
    def backward(ctx, grad):
        return grad


def official_losses(net, gt, ref, z=None, scale=4, lambda_ce=1.0,
                    lambda_rec=1.0):
    """The three weighted loss terms of one official IRN training step.

    ``gt``: (N, 3, H, W) HR in [0, 1]; ``ref``: its bicubic LR.
    """
    n = gt.shape[0]
    out = net(gt)
    lr, latent = out[:, :3], out[:, 3:]
    l_forw_fit = scale**2 * ((lr - ref)**2).sum() / n  # lambda_fit = s^2
    l_forw_ce = lambda_ce * (latent**2).sum() / n
    if z is None:
        z = torch.randn_like(latent)
    x_rec = net(torch.cat((_Quant.apply(lr), z), 1), rev=True)[:, :3]
    l_back_rec = lambda_rec * torch.sqrt((x_rec - gt)**2 + 1e-6).sum() / n
    return l_forw_fit, l_forw_ce, l_back_rec


def official_train_step(net, optimizer, gt, ref, scale=4):
    """One ``optimize_parameters`` call: losses, backward, clip 10, Adam step."""
    optimizer.zero_grad()
    losses = official_losses(net, gt, ref, scale=scale)
    sum(losses).backward()
    nn.utils.clip_grad_norm_(net.parameters(), 10)
    optimizer.step()
    return [v.item() for v in losses]


def build_official(scale=4):
    """IRN x{scale} (x2, x4 or x8) with the official Adam settings."""
    levels = int(round(math.log2(scale)))
    net = InvRescaleNet(block_num=[8] * levels)
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=2e-4, betas=(0.9, 0.999),
                                 weight_decay=1e-5)
    return net, optimizer
