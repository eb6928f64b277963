# Copyright (c) invtoolbox contributors. All rights reserved.
"""A straightforward single-file PyTorch re-statement of the official IICNet.

This is the *baseline* of ``benchmark_iicnet.py``: the official ``InvNet``
network (relation module ``forw_rel``/``back_rel``, optional x2
``InvDownscaling`` (Haar or squeeze, ``hl`` or ``ref`` order, Glow 1x1
conv), ``InvBlock`` of ``InvArch`` affine couplings with dense subnets, the
mean/repeat ``CSLayer`` and the uniform-noise ``Noise`` quantiser) and its
training step (``InvNet.train``: forward, noise quantisation, inverse, the
embedding L2, frequency and Charbonnier restoration losses with the official
weights, backward, gradient clipping at 10, Adam 2e-4 with weight decay
1e-5), written the plain way the paper's code does it, without invtoolbox.

It keeps the official state-dict layout (``0.`` relation module, ``1.``
downscaling, ``2.`` couplings; the channel squeeze and the quantiser have no
weights), so the official weights load as they are with ``strict=True``;
``tests/benchmarks/test_iicnet_restatement.py`` checks it against the official
reference vectors. Tensors are the official stacked input ``(B, 3N, H, W)``
(reference image first, BGR, in ``[0, 1]``).
"""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# The official IICNet DenseBlock, InvArch coupling and Haar filters are IRN's
# (the IICNet README credits IRN): the IRN re-statement's classes serve here.
from benchmarks.irn_restatement import DenseBlock, InvBlockExp
from benchmarks.irn_restatement import HaarDownsampling as _IRNHaar


class RelBlock(nn.Module):
    """Per image: DenseBlock(3->nf), 1x1 head; merge all heads with a 3x3
    conv per image, 1x1 tail, DenseBlock(nf->3); ``x + 0.2 * tails``."""

    def __init__(self, num_frames, nf=64):
        super().__init__()
        self.num_frames = num_frames
        self.DB_heads = nn.ModuleList(
            DenseBlock(3, nf) for _ in range(num_frames))
        self.conv_1x1_heads = nn.ModuleList(
            nn.Conv2d(nf, nf, 1) for _ in range(num_frames))
        self.conv_merges = nn.ModuleList(
            nn.Conv2d(nf * num_frames, nf, 3, 1, 1)
            for _ in range(num_frames))
        self.conv_1x1_tails = nn.ModuleList(
            nn.Conv2d(nf, nf, 1) for _ in range(num_frames))
        self.DB_tails = nn.ModuleList(
            DenseBlock(nf, 3) for _ in range(num_frames))

    def forward(self, x):
        heads = [
            self.conv_1x1_heads[i](self.DB_heads[i](x[:, 3 * i:3 * i + 3]))
            for i in range(self.num_frames)
        ]
        merged = torch.cat(heads, 1)
        tails = [
            self.DB_tails[i](self.conv_1x1_tails[i](
                self.conv_merges[i](merged))) for i in range(self.num_frames)
        ]
        return x + 0.2 * torch.cat(tails, 1)


class RelModule(nn.Module):
    """``forw_rel`` before the INN, a separate ``back_rel`` after it (or two
    identities without the relation module)."""

    def __init__(self, num_frames, use_rel=True, nf=64):
        super().__init__()
        self.use_rel = use_rel
        if use_rel:
            self.forw_rel = RelBlock(num_frames, nf)
            self.back_rel = RelBlock(num_frames, nf)

    def forward(self, x, rev=False):
        if not self.use_rel:
            return x
        return self.back_rel(x) if rev else self.forw_rel(x)


def _ref_orders(channels):
    """Band-major (``hl``) <-> frame-major (``ref``) permutations of the
    ``4 * channels // 3`` three-channel groups after a x2 space-to-depth."""
    frames = channels // 3
    forw = [band * frames + f for f in range(frames) for band in range(4)]
    back = [band + f * 4 for band in range(4) for f in range(frames)]
    return forw, back


def _regroup(x, order):
    n, c, h, w = x.shape
    return x.reshape(n, c // 3, 3, h, w)[:, order].reshape(n, c, h, w)


class HaarDownsampling(_IRNHaar):
    """IRN's Haar x2 (filters /4 forward, exact transpose inverse, frozen
    ``haar_weights`` (4C, 1, 2, 2)); ``ref`` regroups the bands
    frame-major."""

    def __init__(self, channels, order='hl'):
        super().__init__(channels)
        self.order = order
        self.forw_order, self.back_order = _ref_orders(channels)

    def forward(self, x, rev=False):
        if not rev:
            out = super().forward(x)
            return _regroup(out, self.forw_order) if self.order == 'ref' \
                else out
        if self.order == 'ref':
            x = _regroup(x, self.back_order)
        return super().forward(x, rev=True)


class SqueezeLayer(nn.Module):
    """Space-to-depth 2x2, channels ordered (dy, dx, c); ``ref`` regroups
    them frame-major."""

    def __init__(self, channels, order='hl'):
        super().__init__()
        self.order = order
        self.forw_order, self.back_order = _ref_orders(channels)

    def forward(self, x, rev=False):
        n, c, h, w = x.shape
        if not rev:
            out = x.reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 3, 5, 1, 2,
                                                                4)
            out = out.reshape(n, 4 * c, h // 2, w // 2)
            return _regroup(out, self.forw_order) if self.order == 'ref' \
                else out
        if self.order == 'ref':
            x = _regroup(x, self.back_order)
        out = x.reshape(n, 2, 2, c // 4, h, w).permute(0, 3, 4, 1, 5, 2)
        return out.reshape(n, c // 4, 2 * h, 2 * w)


class InvertibleConv1x1(nn.Module):
    """Glow 1x1 conv, QR-orthogonal init; inverse via float64 inversion."""

    def __init__(self, channels):
        super().__init__()
        w_init = np.linalg.qr(np.random.randn(channels, channels))[0]
        self.weight = nn.Parameter(torch.from_numpy(w_init.astype(np.float32)))

    def forward(self, x, rev=False):
        c = self.weight.shape[0]
        weight = self.weight
        if rev:
            weight = torch.inverse(weight.double()).float()
        return F.conv2d(x, weight.view(c, c, 1, 1))


class InvDownscaling(nn.Module):
    """Optional x2 stage: Haar or squeeze, then optionally a 1x1 conv;
    empty (the identity, no weights) without downscaling."""

    def __init__(self, channels, down_type=None, order='hl',
                 use_conv1x1=True):
        super().__init__()
        self.operations = nn.ModuleList()
        if down_type is None:
            return
        if down_type == 'haar':
            self.operations.append(HaarDownsampling(channels, order))
        elif down_type == 'squeeze':
            self.operations.append(SqueezeLayer(channels, order))
        else:
            raise ValueError(f"iicnet_restatement: down_type must be None, "
                             f"'haar' or 'squeeze', got {down_type!r}.")
        if use_conv1x1:
            self.operations.append(InvertibleConv1x1(channels * 4))

    def forward(self, x, rev=False):
        for op in (reversed(self.operations) if rev else self.operations):
            x = op(x, rev)
        return x


class InvBlock(nn.Module):

    def __init__(self, block_num, split1, split2):
        super().__init__()
        # InvArch(split1, split2) is IRN's InvBlockExp
        self.operations = nn.ModuleList(
            InvBlockExp(split1 + split2, split1) for _ in range(block_num))

    def forward(self, x, rev=False):
        for op in (reversed(self.operations) if rev else self.operations):
            x = op(x, rev)
        return x


class CSLayer(nn.Module):
    """Forward: mean of the C/out_nc channel groups; reverse: repeat."""

    def __init__(self, in_nc, out_nc=3):
        super().__init__()
        self.in_nc, self.out_nc = in_nc, out_nc

    def forward(self, x, rev=False):
        n, c, h, w = x.shape
        if not rev:
            return x.view(n, c // self.out_nc, self.out_nc, h, w).mean(1)
        return x.repeat(1, self.in_nc // self.out_nc, 1, 1)


class Noise(nn.Module):
    """Training: ``clamp(e*255 + U(-0.5, 0.5), 0, 255) / 255``;
    test: ``clamp(round(e*255), 0, 255) / 255``."""

    def forward(self, x, train=True, noise=None):
        if train:
            if noise is None:
                noise = torch.rand_like(x) - 0.5
            return torch.clamp(x * 255. + noise, 0, 255) / 255.
        return torch.clamp(torch.round(x * 255.), 0, 255) / 255.


class InvNet(nn.ModuleList):
    """The official network as ``ModuleList([rel, down, block, cs,
    quantization])`` (hence the ``0.``/``1.``/``2.`` state-dict prefixes).

    Args:
        num_frames (int): N, images per sample.
        use_rel (bool): relation module. Default: True.
        down (str, optional): None, ``'haar'`` or ``'squeeze'`` (x2).
        order (str): ``'hl'`` or ``'ref'`` (with ``down``).
        use_conv1x1 (bool): 1x1 conv after the downscaling.
        block_num (int): couplings. Default: 10 (st-01).
        out_nc (int): embedding channels. Default: 3.
    """

    def __init__(self, num_frames=5, use_rel=True, down=None, order='hl',
                 use_conv1x1=True, block_num=10, out_nc=3):
        scale = 1 if down is None else 2
        in_nc = num_frames * 3
        inn_nc = in_nc * scale**2
        if down is None:
            split1 = out_nc
        elif order == 'ref':
            split1 = out_nc * scale**2
        else:
            split1 = inn_nc // 4
        super().__init__([
            RelModule(num_frames, use_rel),
            InvDownscaling(in_nc, down, order, use_conv1x1),
            InvBlock(block_num, split1, inn_nc - split1),
            CSLayer(inn_nc, out_nc),
            Noise()
        ])
        self.scale = scale

    rel = property(lambda self: self[0])
    down = property(lambda self: self[1])
    block = property(lambda self: self[2])
    cs = property(lambda self: self[3])
    quantization = property(lambda self: self[4])

    def embed(self, x):
        """``(B, 3N, H, W)`` -> dict of ``rel_frames``, ``down_frames``,
        ``output_frames`` and ``embedding_frame`` (before quantisation)."""
        rel = self.rel(x)
        down = self.down(rel)
        out = self.block(down)
        return dict(rel_frames=rel, down_frames=down, output_frames=out,
                    embedding_frame=self.cs(out))

    def restore(self, e):
        """A (quantised) embedding -> dict of ``output_frames_prime``,
        ``down_frames_prime``, ``rel_frames_prime`` and ``fake_frames``."""
        out = self.cs(e, rev=True)
        down = self.block(out, rev=True)
        rel = self.down(down, rev=True)
        return dict(output_frames_prime=out, down_frames_prime=down,
                    rel_frames_prime=rel, fake_frames=self.rel(rel, rev=True))


def reference_frame(input_frames, scale=1):
    """Frame 0 of the stack (halved by a 2x2 mean with ``scale=2``)."""
    ref = input_frames[:, :3]
    return F.avg_pool2d(ref, 2) if scale == 2 else ref


def official_loss_terms(embedding, ref, fake, inputs):
    """The three unweighted terms of ``InvNet.loss_and_log``: per-sample sums
    averaged over the batch (L2 embedding, L2 of the one-sided unnormalised
    rfft2 real/imag parts, Charbonnier restoration averaged over frames)."""
    n = embedding.shape[0]
    l2 = ((embedding - ref)**2).sum() / n
    diff = torch.view_as_real(torch.fft.rfft2(embedding)) - torch.view_as_real(
        torch.fft.rfft2(ref))
    freq = (diff**2).sum() / n
    frames = inputs.shape[1] // 3
    l1 = 0
    for i in range(0, 3 * frames, 3):
        l1 = l1 + torch.sqrt((fake[:, i:i + 3] - inputs[:, i:i + 3])**2 +
                             1e-6).sum() / n / frames
    return l2, freq, l1


#: official loss weights (embedding L2, frequency, restoration).
LAMBDAS = (1.0, 0.001, 3.0)


def official_losses(net, inputs, ref=None, noise=None, lambdas=LAMBDAS):
    """The three weighted loss terms of one official training step.

    Args:
        net (InvNet): the network.
        inputs (Tensor): ``(B, 3N, H, W)`` stacked images in ``[0, 1]``.
        ref (Tensor, optional): the target embedding (default: frame 0,
            halved with downscaling).
        noise (Tensor, optional): the ``U(-0.5, 0.5)`` quantisation noise.
        lambdas (tuple): the three weights (st-06/07 use 0.4 restoration).
    """
    if ref is None:
        ref = reference_frame(inputs, net.scale)
    e = net.embed(inputs)['embedding_frame']
    e_q = net.quantization(e, train=True, noise=noise)
    fake = net.restore(e_q)['fake_frames']
    terms = official_loss_terms(e, ref.detach(), fake, inputs.detach())
    return tuple(w * t for w, t in zip(lambdas, terms))


def official_train_step(net, optimizer, inputs, ref=None, lambdas=LAMBDAS):
    """One ``InvNet.train`` call: losses, backward, clip 10, Adam step."""
    optimizer.zero_grad()
    losses = official_losses(net, inputs, ref, lambdas=lambdas)
    sum(losses).backward()
    nn.utils.clip_grad_norm_(net.parameters(), 10)
    optimizer.step()
    return [v.item() for v in losses]


def build_official(num_frames=5, use_rel=True, block_num=10, down=None,
                   order='hl'):
    """``InvNet`` (st-01 by default) with the official Adam: lr 2e-4,
    betas (0.9, 0.999), weight decay 1e-5, one group per sub-module."""
    net = InvNet(num_frames, use_rel=use_rel, down=down, order=order,
                 block_num=block_num)
    groups = [{
        'params': [p for p in sub.parameters() if p.requires_grad]
    } for sub in net]
    optimizer = torch.optim.Adam(groups, lr=2e-4, betas=(0.9, 0.999),
                                 weight_decay=1e-5)
    return net, optimizer
