# Copyright (c) invtoolbox contributors. All rights reserved.
"""A straightforward single-file PyTorch re-statement of the official
Invertible-ISP (yzxing87/Invertible-ISP, commit 344dd33).

This is the *baseline* of ``benchmark_invisp.py``: the official
``InvISPNet`` (8 ``InvBlock`` s, each a Glow LU-decomposed invertible 1x1
convolution then an affine coupling split [1, 2] with three ``DenseBlock``
subnets, ``initialize()`` re-initialising every convolution with
``xavier_normal_`` and zero bias), the official ``DiffJPEG`` simulator (JFIF
YCbCr, 4:2:0 average pooling, 8x8 DCT as a tensordot, the standard tables
times ``quality_to_factor``, the 9-term "Fourier" rounding, IDCT, nearest
chroma upsampling, clip) and the official training step of ``train.py``
(``L1(clamp(net(raw), 0, 1), rgb) + L1(net(DiffJPEG_q90(clamped), rev=True),
raw)``, Adam 1e-4), written the plain way the paper's code does it, without
invtoolbox.

It keeps the official state-dict layout (``operations.{i}.{F,G,H}.conv{1..5}``
and ``operations.{i}.invconv.{lower,log_s,upper,p,sign_s}``), so the released
``nikon.pth``/``canon.pth`` load as they are with ``strict=True``;
``tests/benchmarks/test_invisp_restatement.py`` checks it against the
official reference vectors. Tensors are ``(N, 3, H, W)`` float32: the
gamma-compressed, white-balanced, demosaiced RAW and the sRGB rendering, both
nominally in ``[0, 1]``.

Differences from the official code, none of which changes a number:
``torch.linalg.qr``/``torch.linalg.lu`` replace the deprecated
``torch.qr``/``torch.lu``+``torch.lu_unpack`` (same LAPACK factorisations);
the coupling keeps its scale ``s`` local instead of in ``self.s``; the log-det
that the official 1x1 conv computes and discards is not computed; the JPEG
tables and DCT bases are plain tensors (buffers) rather than parameters that
the official code never hands to the optimiser.
"""
import itertools
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


# ---------------------------------------------------------------- network
class DenseBlock(nn.Module):
    """The official ``DenseBlock`` (gc=32): 5 dense 3x3 convolutions, leaky
    ReLU 0.2 after the first four. Its own xavier*0.1 / zero-conv5 init is
    overwritten by ``InvISPNet.initialize()``, so it is not repeated here."""

    def __init__(self, channel_in, channel_out, gc=32):
        super().__init__()
        self.conv1 = nn.Conv2d(channel_in, gc, 3, 1, 1)
        self.conv2 = nn.Conv2d(channel_in + gc, gc, 3, 1, 1)
        self.conv3 = nn.Conv2d(channel_in + 2 * gc, gc, 3, 1, 1)
        self.conv4 = nn.Conv2d(channel_in + 3 * gc, gc, 3, 1, 1)
        self.conv5 = nn.Conv2d(channel_in + 4 * gc, channel_out, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x):
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        return self.conv5(torch.cat((x, x1, x2, x3, x4), 1))


class InvertibleConv1x1(nn.Module):
    """Glow's LU-decomposed invertible 1x1 convolution (official
    ``model/modules.py``, ``LU_decomposed=True``):
    ``W = P @ (L * strict_lower + I) @ (U * strict_upper + diag(sign_s *
    exp(log_s)))``; the reverse weight is ``inv(U) @ inv(L) @ inv(P)``."""

    def __init__(self, num_channels):
        super().__init__()
        w_init = torch.linalg.qr(torch.randn(num_channels, num_channels))[0]
        p, lower, upper = torch.linalg.lu(w_init)
        s = torch.diag(upper)
        self.register_buffer('p', p)
        self.register_buffer('sign_s', torch.sign(s))
        self.lower = nn.Parameter(lower)
        self.log_s = nn.Parameter(torch.log(torch.abs(s)))
        self.upper = nn.Parameter(torch.triu(upper, 1))
        # plain attributes in the official code (not saved)
        self.l_mask = torch.tril(torch.ones(num_channels, num_channels), -1)
        self.eye = torch.eye(num_channels)

    def get_weight(self, rev):
        l_mask = self.l_mask.to(self.lower.device)
        lower = self.lower * l_mask + self.eye.to(self.lower.device)
        u = self.upper * l_mask.transpose(0, 1).contiguous()
        u = u + torch.diag(self.sign_s * torch.exp(self.log_s))
        if rev:
            weight = torch.matmul(
                torch.inverse(u),
                torch.matmul(torch.inverse(lower), torch.inverse(self.p)))
        else:
            weight = torch.matmul(self.p, torch.matmul(lower, u))
        return weight.view(*weight.shape, 1, 1)

    def forward(self, x, rev=False):
        return F.conv2d(x, self.get_weight(rev))


class InvBlock(nn.Module):
    """1x1 conv, split [1, 2], ``y1 = x1 + F(x2)``,
    ``s = clamp * (2 * sigmoid(H(y1)) - 1)``, ``y2 = x2 * exp(s) + G(y1)``."""

    def __init__(self, channel_num=3, channel_split_num=1, clamp=0.8):
        super().__init__()
        self.split_len1 = channel_split_num
        self.split_len2 = channel_num - channel_split_num
        self.clamp = clamp
        self.F = DenseBlock(self.split_len2, self.split_len1)
        self.G = DenseBlock(self.split_len1, self.split_len2)
        self.H = DenseBlock(self.split_len1, self.split_len2)
        self.invconv = InvertibleConv1x1(channel_num)

    def forward(self, x, rev=False):
        if not rev:
            x = self.invconv(x, rev=False)
            x1 = x.narrow(1, 0, self.split_len1)
            x2 = x.narrow(1, self.split_len1, self.split_len2)
            y1 = x1 + self.F(x2)
            s = self.clamp * (torch.sigmoid(self.H(y1)) * 2 - 1)
            y2 = x2.mul(torch.exp(s)) + self.G(y1)
            return torch.cat((y1, y2), 1)
        x1 = x.narrow(1, 0, self.split_len1)
        x2 = x.narrow(1, self.split_len1, self.split_len2)
        s = self.clamp * (torch.sigmoid(self.H(x1)) * 2 - 1)
        y2 = (x2 - self.G(x1)).div(torch.exp(s))
        y1 = x1 - self.F(y2)
        return self.invconv(torch.cat((y1, y2), 1), rev=True)


class InvISPNet(nn.Module):
    """``net(raw)`` -> rgb, ``net(rgb, rev=True)`` -> raw; ``(N, 3, H, W)``.

    Args:
        channel_in (int): 3 (only 3 is supported by the official 1x1 conv).
        channel_out (int): 3 (unused by the official code, kept for its
            signature).
        block_num (int): number of ``InvBlock`` s (official: 8).
    """

    def __init__(self, channel_in=3, channel_out=3, block_num=8):
        super().__init__()
        self.operations = nn.ModuleList(
            InvBlock(channel_in, 1) for _ in range(block_num))
        self.initialize()

    def initialize(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_normal_(m.weight)
                if m.bias is not None:
                    m.bias.data.zero_()

    def forward(self, x, rev=False):
        for op in (reversed(self.operations) if rev else self.operations):
            x = op(x, rev)
        return x


# ------------------------------------------------------------- DiffJPEG
_Y_TABLE = np.array(
    [[16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55],
     [14, 13, 16, 24, 40, 57, 69, 56], [14, 17, 22, 29, 51, 87, 80, 62],
     [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
     [49, 64, 78, 87, 103, 121, 120, 101],
     [72, 92, 95, 98, 112, 100, 103, 99]], dtype=np.float32).T
_C_TABLE = np.full((8, 8), 99, dtype=np.float32)
_C_TABLE[:4, :4] = np.array([[17, 18, 24, 47], [18, 21, 26, 66],
                             [24, 26, 56, 99], [47, 66, 99, 99]]).T


def diff_round(x):
    """The official "Fourier" rounding:
    ``x - 1/pi * sum_{n=1..9} (-1)^(n+1)/n * sin(2 pi n x)``."""
    total = 0
    for n in range(1, 10):
        total += math.pow(-1, n + 1) / n * torch.sin(2 * math.pi * n * x)
    return x - 1 / math.pi * total


def quality_to_factor(quality):
    """JPEG quality -> table multiplier (90 -> 0.2)."""
    quality = 5000. / quality if quality < 50 else 200. - quality * 2
    return quality / 100.


class DiffJPEG(nn.Module):
    """The official ``utils/JPEG.py`` ``DiffJPEG`` (from mlomnitz/DiffJPEG).

    Args:
        differentiable (bool): Fourier rounding (True, as in training) or
            ``torch.round``.
        quality (float): JPEG quality (training: 90).

    Input ``(N, 3, H, W)`` RGB in ``[0, 1]`` with H, W multiples of 16;
    output the same shape, in ``[0, 1]``.
    """

    def __init__(self, differentiable=True, quality=90):
        super().__init__()
        self.rounding = diff_round if differentiable else torch.round
        self.factor = quality_to_factor(quality)
        self.register_buffer('y_table', torch.from_numpy(_Y_TABLE))
        self.register_buffer('c_table', torch.from_numpy(_C_TABLE))
        self.register_buffer('rgb2ycbcr', torch.from_numpy(np.array(
            [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5],
             [0.5, -0.418688, -0.081312]], dtype=np.float32).T))
        self.register_buffer('ycbcr_shift', torch.tensor([0., 128., 128.]))
        self.register_buffer('ycbcr2rgb', torch.from_numpy(np.array(
            [[1., 0., 1.402], [1, -0.344136, -0.714136], [1, 1.772, 0]],
            dtype=np.float32).T))
        self.register_buffer('rgb_shift', torch.tensor([0, -128., -128.]))
        dct = np.zeros((8, 8, 8, 8), dtype=np.float32)
        idct = np.zeros((8, 8, 8, 8), dtype=np.float32)
        for x, y, u, v in itertools.product(range(8), repeat=4):
            dct[x, y, u, v] = np.cos((2 * x + 1) * u * np.pi / 16) * np.cos(
                (2 * y + 1) * v * np.pi / 16)
            idct[x, y, u, v] = np.cos((2 * u + 1) * x * np.pi / 16) * np.cos(
                (2 * v + 1) * y * np.pi / 16)
        alpha = np.array([1. / np.sqrt(2)] + [1] * 7)
        self.register_buffer('dct_tensor', torch.from_numpy(dct))
        self.register_buffer('dct_scale', torch.from_numpy(
            np.outer(alpha, alpha) * 0.25).float())
        self.register_buffer('idct_tensor', torch.from_numpy(idct))
        self.register_buffer('idct_alpha',
                             torch.from_numpy(np.outer(alpha, alpha)).float())

    # compression (utils/compression.py)
    def _split_dct_quantize(self, channel, table):
        n, h, w = channel.shape
        blocks = channel.view(n, h // 8, 8, -1, 8).permute(0, 1, 3, 2, 4)
        blocks = blocks.contiguous().view(n, -1, 8, 8)
        coeffs = self.dct_scale * torch.tensordot(blocks - 128,
                                                  self.dct_tensor, dims=2)
        return self.rounding(coeffs.float() / (table * self.factor))

    # decompression (utils/decompression.py)
    def _dequantize_idct_merge(self, coeffs, table, h, w):
        coeffs = coeffs * (table * self.factor) * self.idct_alpha
        blocks = 0.25 * torch.tensordot(coeffs, self.idct_tensor, dims=2) + 128
        n = blocks.shape[0]
        merged = blocks.view(n, h // 8, w // 8, 8, 8).permute(0, 1, 3, 2, 4)
        return merged.contiguous().view(n, h, w)

    def forward(self, x):
        h, w = x.shape[2], x.shape[3]
        if h % 16 or w % 16:
            raise ValueError(f'DiffJPEG needs H and W multiples of 16, got '
                             f'{h}x{w}; crop or pad the image first')
        ycc = torch.tensordot((x * 255).permute(0, 2, 3, 1), self.rgb2ycbcr,
                              dims=1) + self.ycbcr_shift
        planes = ycc.permute(0, 3, 1, 2).clone()
        cb = F.avg_pool2d(planes[:, 1:2], 2, 2, count_include_pad=False)
        cr = F.avg_pool2d(planes[:, 2:3], 2, 2, count_include_pad=False)
        y = self._split_dct_quantize(ycc[:, :, :, 0], self.y_table)
        cb = self._split_dct_quantize(cb[:, 0], self.c_table)
        cr = self._split_dct_quantize(cr[:, 0], self.c_table)

        y = self._dequantize_idct_merge(y, self.y_table, h, w)
        chroma = []
        for c in (cb, cr):
            c = self._dequantize_idct_merge(c, self.c_table, h // 2, w // 2)
            # nearest 2x upsampling exactly as the official repeat/view
            c = c.unsqueeze(-1).repeat(1, 1, 2, 2).view(-1, h, w)
            chroma.append(c)
        ycc = torch.cat([y.unsqueeze(3), chroma[0].unsqueeze(3),
                         chroma[1].unsqueeze(3)], dim=3)
        rgb = torch.tensordot(ycc + self.rgb_shift, self.ycbcr2rgb,
                              dims=1).permute(0, 3, 1, 2)
        rgb = torch.min(255 * torch.ones_like(rgb),
                        torch.max(torch.zeros_like(rgb), rgb))
        return rgb / 255


# -------------------------------------------------------- training step
def official_losses(net, jpeg, raw, target_rgb, target_raw=None):
    """The two loss terms of one official ``train.py`` step.

    Args:
        net (InvISPNet): the network.
        jpeg (DiffJPEG): the simulator (training: Fourier rounding, q90).
        raw (Tensor): ``(N, 3, H, W)`` input RAW in ``[0, 1]``.
        target_rgb (Tensor): ``(N, 3, H, W)`` sRGB target in ``[0, 1]``.
        target_raw (Tensor): RAW target (official: a copy of ``raw``).

    Returns:
        tuple: ``(rgb_loss, raw_loss)`` scalar tensors; the loss is their
        sum (``rgb_weight=1``).
    """
    target_raw = raw if target_raw is None else target_raw
    rgb = torch.clamp(net(raw), 0, 1)
    rgb_loss = F.l1_loss(rgb, target_rgb)
    raw_loss = F.l1_loss(net(jpeg(rgb), rev=True), target_raw)
    return rgb_loss, raw_loss


def official_train_step(net, optimizer, jpeg, raw, target_rgb,
                        target_raw=None):
    """One official step: losses, ``zero_grad``, backward, Adam step;
    returns ``[loss, rgb_loss, raw_loss]`` as floats."""
    rgb_loss, raw_loss = official_losses(net, jpeg, raw, target_rgb,
                                         target_raw)
    loss = rgb_loss + raw_loss
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return [loss.item(), rgb_loss.item(), raw_loss.item()]


def build_official(block_num=8):
    """(``InvISPNet``, Adam lr 1e-4, ``DiffJPEG`` Fourier q90) as in
    ``train.py``."""
    net = InvISPNet(3, 3, block_num=block_num)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    return net, optimizer, DiffJPEG(differentiable=True, quality=90)
