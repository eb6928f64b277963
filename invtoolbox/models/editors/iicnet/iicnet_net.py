# Copyright (c) invtoolbox contributors. All rights reserved.
"""The IICNet network: the official ``InvNet`` layers (relation module,
optional invertible downscaling, affine couplings, channel squeeze)."""
from __future__ import annotations

from typing import Dict, List, Optional

from torch import Tensor, nn

from ....errors import ShapeError
from ....registry import MODELS
from ...inn import InvertibleSequential
from .relation import RelationModule

__all__ = ['IICNetNet', 'ChannelSqueeze', 'iicnet_layout']

_DOWN_TYPES = ('haar', 'squeeze')
_DOWN_ORDERS = ('hl', 'ref')


class ChannelSqueeze(nn.Module):
    """IICNet's channel-squeeze layer (the official ``CSLayer``).

    - forward: ``(N, C, h, w) -> (N, out_channels, h, w)``, the **mean of the
      C / out_channels consecutive channel groups** of size ``out_channels``;
    - ``rev=True``: ``(N, out_channels, h, w) -> (N, C, h, w)``, the
      embedding repeated into every group.

    It is a plain module, **not** an ``INV_BLOCKS`` entry: the forward pass
    discards information (``forward(rev(e)) == e`` exactly, but
    ``rev(forward(x)) != x``), IICNet models no latent for what is lost, and
    the INN library's contract (a round trip that returns the input, a
    log-determinant) cannot hold for it. IICNet's restoration loss is what
    teaches the couplings to put the information where averaging and
    copying keep it.

    Args:
        channels (int): C, input channels of the forward pass.
        out_channels (int): channels of the embedding; must divide C.
    """

    def __init__(self, channels: int, out_channels: int) -> None:
        super().__init__()
        channels, out_channels = int(channels), int(out_channels)
        if out_channels < 1 or channels % out_channels:
            raise ValueError(
                f'ChannelSqueeze: out_channels={out_channels} must divide '
                f'channels={channels}.')
        self.channels = channels
        self.out_channels = out_channels
        self.groups = channels // out_channels

    def forward(self, x: Tensor, rev: bool = False) -> Tensor:
        """Average the channel groups, or (``rev=True``) repeat the
        embedding into every group."""
        expected = self.out_channels if rev else self.channels
        if x.dim() != 4 or x.shape[1] != expected:
            raise ShapeError(
                f'ChannelSqueeze ({"reverse" if rev else "forward"}) expects '
                f'(N, {expected}, H, W), got shape {tuple(x.shape)}.')
        if rev:
            return x.repeat(1, self.groups, 1, 1)
        n, _, h, w = x.shape
        return x.reshape(n, self.groups, self.out_channels, h, w).mean(1)

    def extra_repr(self) -> str:
        return f'channels={self.channels}, out_channels={self.out_channels}'


def _check_down(down: Optional[dict]) -> Optional[dict]:
    if down is None:
        return None
    if not isinstance(down, dict):
        raise ValueError(
            "IICNetNet: down must be None or a dict(type='haar'|'squeeze', "
            f"order='hl'|'ref', use_conv1x1=True), got {down!r}.")
    unknown = sorted(set(down) - {'type', 'order', 'use_conv1x1', 'scale'})
    if unknown:
        raise ValueError(f'IICNetNet: unknown down key(s) {unknown}; valid '
                         "keys: 'type', 'order', 'use_conv1x1', 'scale'.")
    out = dict(type=down.get('type', 'haar'), order=down.get('order', 'hl'),
               use_conv1x1=bool(down.get('use_conv1x1', True)))
    if out['type'] not in _DOWN_TYPES:
        raise ValueError(f"IICNetNet: down type {out['type']!r} is not one of "
                         f'{_DOWN_TYPES}.')
    if out['order'] not in _DOWN_ORDERS:
        raise ValueError(f"IICNetNet: down order {out['order']!r} is not one "
                         f'of {_DOWN_ORDERS}.')
    if int(down.get('scale', 2)) != 2:
        raise ValueError('IICNetNet: the official downscaling stage is x2 '
                         f"only, got scale={down['scale']}.")
    return out


def iicnet_layout(num_images: int,
                  out_channels: int = 3,
                  down: Optional[dict] = None,
                  image_channels: int = 3) -> Dict[str, int]:
    """Derived sizes of an IICNet network (the official ``options.parse``).

    Returns:
        dict: ``scale``, ``in_channels`` (stacked input), ``inn_channels``
        (``in_channels * scale^2``), ``split1`` (first coupling part:
        ``out_channels``, ``out_channels * 4`` for order ``'ref'``,
        ``inn_channels / 4`` for ``'hl'``) and ``split2``.

    Raises:
        ValueError: one line, for a combination the network cannot build.
    """
    down = _check_down(down)
    num_images, out_channels = int(num_images), int(out_channels)
    if num_images < 1:
        raise ValueError(f'IICNetNet: num_images must be >= 1, got '
                         f'{num_images}.')
    scale = 1 if down is None else 2
    in_channels = num_images * int(image_channels)
    inn_channels = in_channels * scale * scale
    if down is None:
        split1 = out_channels
    elif down['order'] == 'ref':
        split1 = out_channels * 4
    else:
        split1 = inn_channels // 4
    if out_channels < 1 or inn_channels % out_channels:
        raise ValueError(
            f'IICNetNet: out_channels={out_channels} must divide the '
            f'{inn_channels} INN channels ({num_images} images x '
            f'{image_channels} x {scale}^2).')
    if not 0 < split1 < inn_channels:
        raise ValueError(
            f'IICNetNet: {num_images} image(s) with out_channels='
            f'{out_channels} and down={down} leave no channels for the '
            f'second coupling part (split {split1} of {inn_channels}); embed '
            'more channels than the embedding has.')
    return dict(scale=scale, in_channels=in_channels,
                inn_channels=inn_channels, split1=split1,
                split2=inn_channels - split1)


@MODELS.register_module()
class IICNetNet(nn.Module):
    """IICNet (Cheng, Xie, Chen, ICCV 2021), the official ``InvNet`` layers.

    Embedding (``net(x)``), on the official stacked input ``x`` of shape
    ``(N, 3K, H, W)`` (reference image first, BGR, in ``[0, 1]``; see
    :meth:`~invtoolbox.tasks.BaseRICTask.pack`)::

        rel   = rel.forw_rel(x)                  # optional relation module
        down  = down(rel)                        # optional x2 stage + 1x1 conv
        out   = inn(down)                        # block_num affine couplings
        e     = squeeze(out)                     # mean of the channel groups

    ``e`` is ``(N, out_channels, H/s, W/s)``, before quantisation.
    Restoration (``net(e, rev=True)``) on a (quantised) embedding::

        out'  = squeeze(e, rev=True)             # repeat into every group
        down' = inn(out', rev=True)
        rel'  = down(down', rev=True)
        x_hat = rel.back_rel(rel')               # own weights, not forw_rel^-1

    Layers and official keys (converted by
    :func:`invtoolbox.apis.convert_official_checkpoint`): ``0.`` (RelModule)
    -> ``rel.`` (:class:`RelationModule`), ``1.operations.{0,1}`` ->
    ``down.blocks.{0,1}`` (``HaarDownsampling`` / ``PixelUnshuffle`` then
    ``Invertible1x1Conv``), ``2.operations.{k}`` -> ``inn.blocks.{k}``
    (:class:`~invtoolbox.models.inn.AffineCoupling`, IRN's/IICNet's
    ``InvArch``, clamp 1, sigmoid soft clamp, DenseBlock subnets F, G, H).
    The fixed Haar filters are a buffer here (a frozen parameter there):
    :meth:`num_official_params` gives the official parameter count.

    Downscaling orders: ``'hl'`` is band-major over all channels (the first
    ``3K`` channels are the LL bands of every image); ``'ref'`` is
    image-major (each image's four bands together, so the reference image's
    bands come first). ``'ref'`` squeeze = ``PixelUnshuffle(order=
    'subpixel', group_channels=3)``, ``'hl'`` squeeze =
    ``PixelUnshuffle(order='subpixel')``.

    Args:
        num_images (int): K, images per sample.
        out_channels (int): channels of the embedding (3; 1 for grayscale).
            Default: 3.
        use_rel (bool): use the relation module. Default: True.
        rel_channels (int): feature width nf of the relation module.
            Default: 64.
        down (dict, optional): ``dict(type='haar'|'squeeze', order='hl'|
            'ref', use_conv1x1=True)`` for the x2 downscaling stage, or None.
        block_num (int): number of couplings. Default: 10.
        subnet (dict): ``SUBNETS`` config of the couplings and of the
            relation module's dense blocks. Default: ``dict(type=
            'DenseBlock', growth=32, init='xavier')``.
        clamp (float): coupling clamp. Default: 1.0 (official).
        image_channels (int): channels per image. Default: 3.
        memory_efficient (bool): recompute coupling activations in backward
            (see :class:`InvertibleSequential`). Default: False.
    """

    def __init__(self,
                 num_images: int,
                 out_channels: int = 3,
                 use_rel: bool = True,
                 rel_channels: int = 64,
                 down: Optional[dict] = None,
                 block_num: int = 10,
                 subnet: Optional[dict] = None,
                 clamp: float = 1.0,
                 image_channels: int = 3,
                 memory_efficient: bool = False) -> None:
        super().__init__()
        down = _check_down(down)
        layout = iicnet_layout(num_images, out_channels, down, image_channels)
        if int(block_num) < 0:
            raise ValueError(f'IICNetNet: block_num must be >= 0, got '
                             f'{block_num}.')
        if subnet is None:
            subnet = dict(type='DenseBlock', growth=32, init='xavier')
        self.num_images = int(num_images)
        self.out_channels = int(out_channels)
        self.image_channels = int(image_channels)
        self.use_rel = bool(use_rel)
        self.down_cfg = down
        self.block_num = int(block_num)
        self.scale = layout['scale']
        self.in_channels = layout['in_channels']
        self.inn_channels = layout['inn_channels']
        self.split1 = layout['split1']
        self.rel = RelationModule(
            self.num_images, rel_channels, self.image_channels,
            subnet) if self.use_rel else None
        side = 8
        self.down = None
        if down is not None:
            c = self.in_channels
            group = self.image_channels if down['order'] == 'ref' else c
            if down['type'] == 'haar':
                blocks: List[dict] = [
                    dict(type='HaarDownsampling', group_channels=group)
                ]
            else:
                blocks = [
                    dict(type='PixelUnshuffle', factor=2, order='subpixel',
                         group_channels=group)
                ]
            if down['use_conv1x1']:
                blocks.append(dict(type='Invertible1x1Conv', lu=False))
            self.down = InvertibleSequential(blocks, (c, side, side))
        coupling = dict(
            type='AffineCoupling',
            split=self.split1,
            subnet=dict(subnet),
            clamp=clamp,
            clamp_activation='sigmoid')
        self.inn = InvertibleSequential(
            [dict(coupling) for _ in range(self.block_num)],
            (self.inn_channels, side // self.scale, side // self.scale),
            memory_efficient=memory_efficient)
        self.squeeze = ChannelSqueeze(self.inn_channels, self.out_channels)

    # ------------------------------------------------------------------
    def _check(self, x: Tensor, rev: bool) -> None:
        if rev:
            c, what = self.out_channels, 'embedding'
        else:
            c, what = self.in_channels, f'{self.num_images} stacked images'
        if not isinstance(x, Tensor) or x.dim() != 4 or x.shape[1] != c:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x)
            raise ShapeError(f'IICNetNet: expected the {what} as (N, {c}, H, '
                             f'W), got {shape}.')
        h, w = x.shape[2:]
        if not rev and (h < self.scale or w < self.scale):
            raise ShapeError(
                f'IICNetNet (x{self.scale} downscaling): image size {h}x{w} '
                f'is smaller than the scale {self.scale}; use images of at '
                f'least {self.scale}x{self.scale} pixels.')
        if not rev and (h % self.scale or w % self.scale):
            raise ShapeError(
                f'IICNetNet (x{self.scale} downscaling): image size {h}x{w} '
                f'is not divisible by {self.scale}; crop it to '
                f'{h - h % self.scale}x{w - w % self.scale}.')

    def embed_intermediates(self, x: Tensor) -> Dict[str, Tensor]:
        """The forward pass with every intermediate (the official names in
        brackets): ``rel`` (rel_frames), ``down`` (down_frames), ``inn``
        (output_frames) and ``embedding`` (embedding_frame, not quantised).
        """
        self._check(x, rev=False)
        rel = self.rel(x) if self.rel is not None else x
        down = self.down(rel) if self.down is not None else rel
        out = self.inn(down)
        return dict(rel=rel, down=down, inn=out, embedding=self.squeeze(out))

    def restore_intermediates(self, e: Tensor) -> Dict[str, Tensor]:
        """The reverse pass with every intermediate: ``inn``
        (output_frames_prime), ``down`` (down_frames_prime), ``rel``
        (rel_frames_prime) and ``restored`` (fake_frames, not clamped)."""
        self._check(e, rev=True)
        out = self.squeeze(e, rev=True)
        down = self.inn(out, rev=True)
        rel = self.down(down, rev=True) if self.down is not None else down
        restored = self.rel(rel, rev=True) if self.rel is not None else rel
        return dict(inn=out, down=down, rel=rel, restored=restored)

    def forward(self, x: Tensor, rev: bool = False) -> Tensor:
        """Embed ``x`` ``(N, 3K, H, W)`` -> ``(N, out_channels, H/s, W/s)``,
        or restore (``rev=True``) an embedding -> ``(N, 3K, H, W)``."""
        if rev:
            return self.restore_intermediates(x)['restored']
        return self.embed_intermediates(x)['embedding']

    def num_official_params(self) -> int:
        """Parameter count as the official code reports it (the frozen Haar
        filters included)."""
        count = sum(p.numel() for p in self.parameters())
        count += sum(b.numel() for name, b in self.named_buffers()
                     if name.endswith('haar_weights'))
        return count

    def extra_repr(self) -> str:
        return (f'num_images={self.num_images}, out_channels='
                f'{self.out_channels}, use_rel={self.use_rel}, down='
                f'{self.down_cfg}, block_num={self.block_num}')
