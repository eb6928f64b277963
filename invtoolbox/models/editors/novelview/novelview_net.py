# Copyright (c) invtoolbox contributors. All rights reserved.
"""The networks of "Embedding Novel Views in a Single JPEG Image" (Wu,
Meng, Chen, ICCV 2021): an encoder that hides a multiplane image (MPI) and
its reference view in one RGB image, and a decoder that recovers the MPI.

Layer for layer the official ``EncoderAlphaWeight`` and ``Decoder``
(``models/networks.py``, ``--encoder_type 2 --decoder_type 1``), with the
official module names, so the released ``encoder_*.pth`` / ``decoder_*.pth``
state dicts load under the prefixes ``encoder.`` / ``decoder.``. This is an
encoder/decoder pair, not an invertible network: the decoder is trained to
undo the encoder (and the JPEG between them), nothing more.
"""
from __future__ import annotations

from typing import Dict, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ....registry import MODELS

__all__ = ['NovelViewEncoder', 'NovelViewDecoder', 'NovelViewJPEGNet',
           'check_mpi_pair']


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1)


class _FeatureExtractor(nn.Module):
    """Official ``InputFeatureExtractor``: ``layers`` x (3x3 conv + ReLU)."""

    def __init__(self, cin: int, cout: int, num_layers: int = 1) -> None:
        super().__init__()
        layers = [_conv(cin, cout), nn.ReLU()]
        for _ in range(num_layers - 1):
            layers += [_conv(cout, cout), nn.ReLU()]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class _ResBlock(nn.Module):
    """Official ``ResBlock``: conv-ReLU-conv plus the input (no final
    ReLU)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(_conv(channels, channels), nn.ReLU(),
                                    _conv(channels, channels))

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x) + x


class _DecoderResBlock(nn.Module):
    """Official ``DecoderResBlock``: conv C->2C, ReLU, conv 2C->C, plus the
    input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(_conv(channels, 2 * channels), nn.ReLU(),
                                    _conv(2 * channels, channels))

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x) + x


def _conv_pair(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(_conv(cin, cout, stride), nn.ReLU(),
                         _conv(cout, cout), nn.ReLU())


def check_mpi_pair(ref: Tensor, mpis: Tensor, num_planes: int,
                   owner: str) -> None:
    """One-line errors unless ``ref`` is ``(N, 3, H, W)`` and ``mpis``
    ``(N, num_planes, 4, H, W)`` of the same batch and size."""
    if not isinstance(ref, Tensor) or ref.dim() != 4 or ref.shape[1] != 3:
        raise ValueError(f'{owner}: ref must be an (N, 3, H, W) tensor, got '
                         f'{_shape(ref)}.')
    if not isinstance(mpis, Tensor) or mpis.dim() != 5 or \
            tuple(mpis.shape[1:3]) != (num_planes, 4):
        raise ValueError(
            f'{owner}: mpis must be an (N, {num_planes}, 4, H, W) tensor '
            f'(RGB in [-1, 1] and alpha in [0, 1] per plane, plane 0 the '
            f'farthest), got {_shape(mpis)}.')
    if mpis.shape[0] != ref.shape[0] or mpis.shape[-2:] != ref.shape[-2:]:
        raise ValueError(
            f'{owner}: ref {tuple(ref.shape)} and mpis {tuple(mpis.shape)} '
            'differ in batch size or image size.')


def _shape(x) -> str:
    return (f'shape {tuple(x.shape)}'
            if isinstance(x, Tensor) else type(x).__name__)


@MODELS.register_module()
class NovelViewEncoder(nn.Module):
    """The official ``EncoderAlphaWeight``: MPI + reference -> embedding.

    - the reference: 3x3 conv 3->C + ReLU (``ref_feature_extractor``);
    - plane ``i``: its own 3x3 conv 3->C + ReLU on its RGB
      (``input_rgb_feature_extractors[i]``), multiplied by its alpha; the
      products are summed over the planes;
    - all alphas stacked: 3x3 conv P->C + ReLU
      (``input_alpha_feature_extractors``);
    - the three concatenated (3C) -> conv 3C->C + ReLU -> 2 residual blocks
      -> a two-level U-Net (stride-2 convs to 2C and 4C, 4 residual blocks at
      4C, nearest upsampling with skip concatenation) -> 2 residual blocks
      -> conv C->3 -> tanh.

    Args:
        num_planes (int): MPI planes P (official ``input_num``). Default: 32.
        base_channels (int): C (official ``base_feature_channels``).
            Default: 64.
        num_extractor_layers (int): conv layers per input feature extractor.
            Default: 1.
        num_start_blocks, num_unet_blocks, num_end_blocks (int): residual
            blocks before, inside and after the U-Net. Default: 2, 4, 2.

    Shapes:
        ``ref`` ``(N, 3, H, W)`` RGB in [-1, 1]; ``mpis`` ``(N, P, 4, H, W)``
        with RGB in [-1, 1] and alpha in [0, 1] (plane 0 the farthest);
        output ``(N, 3, H, W)`` in [-1, 1].
    """

    def __init__(self,
                 num_planes: int = 32,
                 base_channels: int = 64,
                 num_extractor_layers: int = 1,
                 num_start_blocks: int = 2,
                 num_unet_blocks: int = 4,
                 num_end_blocks: int = 2) -> None:
        super().__init__()
        c = int(base_channels)
        self.num_planes = int(num_planes)
        self.ref_feature_extractor = _FeatureExtractor(
            3, c, num_extractor_layers)
        self.input_rgb_feature_extractors = nn.ModuleList(
            _FeatureExtractor(3, c, num_extractor_layers)
            for _ in range(self.num_planes))
        self.input_alpha_feature_extractors = _FeatureExtractor(
            self.num_planes, c, num_extractor_layers)
        self.ref_alpha_merge = nn.Sequential(_conv(3 * c, c), nn.ReLU())
        self.start_feature_res_blocks = nn.Sequential(
            *[_ResBlock(c) for _ in range(num_start_blocks)])
        self.unet_conv_1 = _conv_pair(c, 2 * c, 2)
        self.unet_conv_2 = _conv_pair(2 * c, 4 * c, 2)
        self.unet_feature_res_blocks = nn.Sequential(
            *[_ResBlock(4 * c) for _ in range(num_unet_blocks)])
        self.unet_conv_up_1 = _conv_pair(6 * c, 2 * c, 1)
        self.unet_conv_up_2 = _conv_pair(3 * c, c, 1)
        self.end_feature_res_blocks = nn.Sequential(
            *[_ResBlock(c) for _ in range(num_end_blocks)])
        self.output_conv = nn.Sequential(_conv(c, 3), nn.Tanh())

    def forward(self, ref: Tensor, mpis: Tensor) -> Tensor:
        check_mpi_pair(ref, mpis, self.num_planes, type(self).__name__)
        ref_feature = self.ref_feature_extractor(ref)
        alpha = mpis[:, :, 3]  # (N, P, H, W)
        rgb_feature = None
        for i, extractor in enumerate(self.input_rgb_feature_extractors):
            term = extractor(mpis[:, i, :3]) * alpha[:, i:i + 1]
            rgb_feature = term if rgb_feature is None else rgb_feature + term
        alpha_feature = self.input_alpha_feature_extractors(alpha)
        feature = self.ref_alpha_merge(
            torch.cat([ref_feature, rgb_feature, alpha_feature], dim=1))
        feature_1 = self.start_feature_res_blocks(feature)
        feature_2 = self.unet_conv_1(feature_1)
        feature = self.unet_feature_res_blocks(self.unet_conv_2(feature_2))
        feature = F.interpolate(feature, feature_2.shape[-2:])
        feature = self.unet_conv_up_1(torch.cat([feature, feature_2], 1))
        feature = F.interpolate(feature, feature_1.shape[-2:])
        feature = self.unet_conv_up_2(torch.cat([feature, feature_1], 1))
        return self.output_conv(self.end_feature_res_blocks(feature))


@MODELS.register_module()
class NovelViewDecoder(nn.Module):
    """The official ``Decoder``: embedding -> MPI.

    conv 3->C, then three groups of residual blocks (3, 2, 3; each
    ``DecoderResBlock`` is conv C->2C, ReLU, conv 2C->C plus its input),
    each group with a long skip, then conv C->4C + ReLU, conv 4C->4P, tanh.

    Args:
        num_planes (int): MPI planes P (official ``output_num``).
            Default: 32.
        base_channels (int): C. Default: 64.
        num_blocks (Sequence[int]): residual blocks of the three groups.
            Default: (3, 2, 3).

    Shapes:
        input ``(N, 3, H, W)`` in [-1, 1]; output ``(N, 4P, H, W)`` in
        [-1, 1]: plane ``i`` is channels ``4i .. 4i+3`` = R, G, B, alpha,
        all in [-1, 1] (the renderer maps alpha to ``(a + 1) / 2``).
    """

    def __init__(self,
                 num_planes: int = 32,
                 base_channels: int = 64,
                 num_blocks: Sequence[int] = (3, 2, 3)) -> None:
        super().__init__()
        c = int(base_channels)
        if len(num_blocks) != 3:
            raise ValueError('NovelViewDecoder: num_blocks must give the '
                             f'three group sizes, got {num_blocks!r}.')
        self.num_planes = int(num_planes)
        self.input_conv = _conv(3, c)
        start, middle, end = (int(n) for n in num_blocks)
        self.start_feature_res_blocks = nn.Sequential(
            *[_DecoderResBlock(c) for _ in range(start)])
        self.middle_feature_res_blocks = nn.Sequential(
            *[_DecoderResBlock(c) for _ in range(middle)])
        self.end_feature_res_blocks = nn.Sequential(
            *[_DecoderResBlock(c) for _ in range(end)])
        self.output_conv = nn.Sequential(
            _conv(c, 4 * c), nn.ReLU(), _conv(4 * c, 4 * self.num_planes),
            nn.Tanh())

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError('NovelViewDecoder: the embedding must be an '
                             f'(N, 3, H, W) tensor, got {_shape(x)}.')
        x = self.input_conv(x)
        x = self.start_feature_res_blocks(x) + x
        x = self.middle_feature_res_blocks(x) + x
        x = self.end_feature_res_blocks(x) + x
        return self.output_conv(x)


@MODELS.register_module()
class NovelViewJPEGNet(nn.Module):
    """Encoder + decoder of the novel-view JPEG embedding.

    ``encode(ref, mpis)`` -> embedding ``(N, 3, H, W)`` in [-1, 1];
    ``decode(embedding)`` -> ``(N, P, 4, H, W)``, every channel in [-1, 1]
    as the official decoder outputs it (:meth:`alpha_to_unit` maps the
    alpha to [0, 1] for rendering). ``forward(ref, mpis)`` is
    ``decode(encode(ref, mpis))`` without any degradation in between and
    returns both. Not invertible: nothing guarantees that decoding an
    arbitrary image gives a meaningful MPI.

    Args:
        encoder (dict): :class:`NovelViewEncoder` arguments (without
            ``type``) or a config dict with ``type``. Default: official.
        decoder (dict): :class:`NovelViewDecoder` arguments. Default:
            official.
        num_planes (int): P, given to both. Default: 32.
    """

    #: the embedding has the reference's size
    scale = 1

    def __init__(self,
                 encoder: Union[dict, None] = None,
                 decoder: Union[dict, None] = None,
                 num_planes: int = 32) -> None:
        super().__init__()
        self.num_planes = int(num_planes)
        if self.num_planes < 2:
            raise ValueError('NovelViewJPEGNet: num_planes must be >= 2, got '
                             f'{num_planes!r}.')
        self.encoder = self._build(encoder, 'NovelViewEncoder')
        self.decoder = self._build(decoder, 'NovelViewDecoder')

    def _build(self, cfg, default_type: str) -> nn.Module:
        cfg = dict(cfg or {})
        cfg.setdefault('type', default_type)
        cfg.setdefault('num_planes', self.num_planes)
        if cfg['num_planes'] != self.num_planes:
            raise ValueError(
                f'NovelViewJPEGNet: {default_type} has num_planes='
                f"{cfg['num_planes']} but the network {self.num_planes}.")
        return MODELS.build(cfg)

    def encode(self, ref: Tensor, mpis: Tensor) -> Tensor:
        """Reference ``(N, 3, H, W)`` + MPI ``(N, P, 4, H, W)`` ->
        embedding ``(N, 3, H, W)``, all in the official ranges."""
        return self.encoder(ref, mpis)

    def decode(self, embedding: Tensor) -> Tensor:
        """Embedding ``(N, 3, H, W)`` -> MPI ``(N, P, 4, H, W)`` in
        [-1, 1] (alpha too)."""
        out = self.decoder(embedding)
        return out.view(out.shape[0], self.num_planes, 4, *out.shape[-2:])

    @staticmethod
    def alpha_to_unit(decoded: Tensor) -> Tensor:
        """Decoded MPI -> renderable RGBA: RGB kept in [-1, 1], alpha
        ``(a + 1) / 2`` in [0, 1] (the official mapping)."""
        return torch.cat([decoded[:, :, :3], (decoded[:, :, 3:] + 1) / 2],
                         dim=2)

    def forward(self, ref: Tensor, mpis: Tensor) -> Dict[str, Tensor]:
        embedding = self.encode(ref, mpis)
        return dict(embedding=embedding, mpis=self.decode(embedding))

    def extra_repr(self) -> str:
        return f'num_planes={self.num_planes}'
