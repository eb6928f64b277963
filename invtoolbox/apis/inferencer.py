# Copyright (c) invtoolbox contributors. All rights reserved.
"""One inference entry point for every editor, through its capability.

:class:`Inferencer` builds a model from a config (or the config a training
run saved in its work dir) and a checkpoint (published, converted, or a
training checkpoint of the user's own run, read under the one trust policy
of :mod:`invtoolbox.utils.checkpoint_trust`), then offers the commands of
the model's capability::

    from invtoolbox.apis import Inferencer
    inferencer = Inferencer('configs/irn/irn_x2_div2k.py', 'irn_x2.pth',
                            max_memory='2G')
    lr = inferencer.downscale('photo.png')          # uint8 (H/2, W/2, 3)
    hr = inferencer.upscale(lr)                     # uint8 (H, W, 3)
    result = inferencer.roundtrip('photo.png', codec='jpeg', quality=75)

==============================  =======================================
capability                      commands
==============================  =======================================
rescaling (IRN family, SAIN)    ``downscale``, ``upscale``, ``roundtrip``
reversible conversion (IICNet)  ``embed``, ``restore``
Invertible-ISP                  ``render``, ``recover`` (files)
novel view (NovelViewJPEG)      ``embed``, ``render`` (files)
learned codec (InvCompress)     none: ``tools/codec.py`` has its file tool
==============================  =======================================

Images go in as paths or uint8 / uint16 numpy arrays and come out as uint8
numpy arrays. Files are read by the one image reader
(:func:`invtoolbox.utils.read_image`: EXIF orientation applied, 16-bit
scaled, alpha composited on ``background`` or refused). Large images run
in overlapping tiles (``tile=`` or ``max_memory=``, see
:mod:`invtoolbox.apis.tiling`); the tiled output equals the untiled one.
"""
from __future__ import annotations

import glob
import math
import os
import re
from fractions import Fraction
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config

from ..errors import InvToolboxError
from ..utils.image_io import read_image
from .inference import init_model
from .tiling import (TileOp, TilingError, choose_tile_size, current_rss,
                     format_bytes, measure_tile_cost, parse_memory,
                     receptive_radius, return_freed_memory, run_tiled)

__all__ = [
    'Inferencer', 'InferenceError', 'RoundTrip', 'capability_of',
    'CAPABILITY_COMMANDS', 'resolve_run_files', 'ROUNDTRIP_CODECS'
]

PathLike = Union[str, os.PathLike]
ImageLike = Union[PathLike, np.ndarray]

#: the commands of each capability
CAPABILITY_COMMANDS: Dict[str, Tuple[str, ...]] = {
    'rescaling': ('downscale', 'upscale', 'roundtrip'),
    'conversion': ('embed', 'restore'),
    'isp': ('render', 'recover'),
    'novel_view': ('embed', 'render'),
    'codec': (),
}
#: what each capability is called in messages, and its configs
_CAPABILITY_NAMES = {
    'rescaling': 'a rescaling model (IRN family, SAIN: configs/irn/, '
    'configs/sain/)',
    'conversion': 'a reversible-conversion model (IICNet: configs/iicnet/)',
    'isp': 'an Invertible-ISP model (configs/invisp/)',
    'novel_view': 'a novel-view model (configs/novelview/)',
    'codec': 'a learned codec (InvCompress; use tools/codec.py encode / '
    'decode)',
}
#: codecs of ``roundtrip``: name -> DEGRADATIONS type
ROUNDTRIP_CODECS = {'jpeg': 'RealJPEG', 'webp': 'RealWebP'}
#: file extension of each roundtrip codec's bitstream
CODEC_SUFFIXES = {'jpeg': '.jpg', 'webp': '.webp'}


class InferenceError(InvToolboxError, ValueError):
    """Bad input to inference (one-line message)."""


class RoundTrip(NamedTuple):
    """What :meth:`Inferencer.roundtrip` returns."""

    #: the LR the model ships, uint8 ``(h, w, c)``
    lr: np.ndarray
    #: the compressed LR file (JPEG / WebP bytes)
    bitstream: bytes
    #: the LR as the receiver decodes it, uint8 ``(h, w, c)``
    received: np.ndarray
    #: the restored image, uint8 ``(H, W, C)``
    restored: np.ndarray
    #: PSNR of ``restored`` against the input (RGB, dB)
    psnr: float
    #: PSNR on Y (BT.601), ``scale`` pixels cropped from each border, as
    #: the rescaling papers report it (dB)
    psnr_y: float
    #: bits of the bitstream per input pixel
    bpp: float


def capability_of(model) -> Optional[str]:
    """The capability of a model or model class (a key of
    :data:`CAPABILITY_COMMANDS`), or None."""
    from ..models.base_models import (LearnedCodecMixin, RescalingMixin,
                                      ReversibleConversionMixin)
    cls = model if isinstance(model, type) else type(model)
    if issubclass(cls, RescalingMixin):
        return 'rescaling'
    if issubclass(cls, ReversibleConversionMixin):
        return 'conversion'
    if issubclass(cls, LearnedCodecMixin):
        return 'codec'
    from ..models.editors.novelview import NovelViewJPEG
    if issubclass(cls, NovelViewJPEG):
        return 'novel_view'
    if callable(getattr(cls, 'render', None)) and callable(
            getattr(cls, 'recover', None)):
        return 'isp'
    return None


def describe_capability(capability: Optional[str]) -> str:
    return _CAPABILITY_NAMES.get(capability, 'a model without an inference '
                                 'capability')


# ---------------------------------------------------------------------------
# config and checkpoint of a run
# ---------------------------------------------------------------------------
def _saved_config(work_dir: str) -> str:
    """The config a training run saved in its work dir (the one ``*.py``
    at its top level)."""
    found = sorted(glob.glob(os.path.join(glob.escape(work_dir), '*.py')))
    if len(found) == 1:
        return found[0]
    if not found:
        raise InferenceError(
            f'{work_dir!r} is a folder without a saved config (*.py); pass '
            'the config file, or the work dir of a tools/train.py run.')
    names = ', '.join(os.path.basename(p) for p in found)
    raise InferenceError(f'{work_dir!r} holds several configs ({names}); '
                         'pass the one to use.')


def _latest_checkpoint(work_dir: str) -> str:
    """The checkpoint a run's ``last_checkpoint`` names, else its newest
    ``iter_N.pth`` / ``epoch_N.pth``."""
    pointer = os.path.join(work_dir, 'last_checkpoint')
    if os.path.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if named:
            path = named if os.path.isabs(named) else os.path.join(
                work_dir, os.path.basename(named))
            if os.path.isfile(path):
                return path
    numbered = []
    for path in glob.glob(os.path.join(glob.escape(work_dir), '*.pth')):
        match = re.fullmatch(r'(iter|epoch)_(\d+)\.pth',
                             os.path.basename(path))
        if match:
            numbered.append((int(match.group(2)), path))
    if not numbered:
        raise InferenceError(
            f'{work_dir!r} holds no checkpoint (last_checkpoint, iter_N.pth'
            '); pass a checkpoint file.')
    return max(numbered)[1]


def resolve_run_files(config: Union[PathLike, Config],
                      checkpoint: Optional[PathLike] = None
                      ) -> Tuple[Union[str, Config], Optional[str]]:
    """``(config, checkpoint)`` paths from what a user passes: a config
    file, or a training work dir (its saved config); a checkpoint file, or
    a work dir (its latest checkpoint). One-line errors for missing
    paths."""
    if not isinstance(config, Config):
        config = os.path.expanduser(os.fspath(config))
        if os.path.isdir(config):
            config = _saved_config(config)
        elif not os.path.isfile(config):
            raise FileNotFoundError(
                f'config {config!r} not found; pass a config file (configs/'
                '<algorithm>/...py) or the work dir of a training run.')
    if checkpoint is not None:
        checkpoint = os.path.expanduser(os.fspath(checkpoint))
        if os.path.isdir(checkpoint):
            checkpoint = _latest_checkpoint(checkpoint)
        elif not os.path.isfile(checkpoint):
            raise FileNotFoundError(
                f'checkpoint {checkpoint!r} not found; pass a .pth file or '
                'the work dir of a training run.')
    return config, checkpoint


# ---------------------------------------------------------------------------
# 8-bit PSNR without full-size float copies
# ---------------------------------------------------------------------------
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966]) / 255.0


def _psnr_8bit(a: np.ndarray, b: np.ndarray, y_only: bool = False,
               crop: int = 0, rows: int = 256) -> float:
    """PSNR of two uint8 ``(H, W, C)`` images (RGB, or BT.601 Y in
    16..235 units as :func:`invtoolbox.evaluation.functional.psnr` with
    ``test_y_channel``), computed in blocks of rows."""
    if crop:
        a, b = a[crop:-crop, crop:-crop], b[crop:-crop, crop:-crop]
    total, count = 0.0, 0
    for top in range(0, a.shape[0], rows):
        pa = a[top:top + rows].astype(np.float64)
        pb = b[top:top + rows].astype(np.float64)
        if y_only and a.shape[2] == 3:
            pa, pb = pa @ _Y_WEIGHTS + 16, pb @ _Y_WEIGHTS + 16
        diff = pa - pb
        total += float(np.sum(diff * diff))
        count += diff.size
    mse = total / max(count, 1)
    return float('inf') if mse == 0 else 10 * math.log10(255.0**2 / mse)


# ---------------------------------------------------------------------------
# the inferencer
# ---------------------------------------------------------------------------
class Inferencer:
    """Inference on images and files with any invtoolbox model.

    Args:
        config (str | Path | Config): a config file, or the work dir of a
            training run (its saved config).
        checkpoint (str | Path, optional): an invtoolbox checkpoint
            (published, converted with ``convert_official.py``, or written
            by training: ``iter_N.pth``), or a work dir (its latest
            checkpoint). None keeps the initial weights.
        device (str): e.g. ``'cpu'``, ``'cuda:0'``.
        tile (int, optional): process images in tiles of this many input
            pixels (plus a halo covering the network's receptive field).
        max_memory (int | str, optional): a memory budget for the whole
            process (``'2G'``, bytes as int); the tile size is chosen from
            it (CPU: measured; elsewhere a conservative estimate). Images
            that fit run untiled.
        progress (bool): a progress bar over the tiles of an image.
        alpha (str): images with alpha are ``'composite'``-d on
            ``background`` or ``'refuse'``-d (see
            :func:`invtoolbox.utils.read_image`).
        background (tuple): RGB 0..255.
        cfg_options (dict, optional): overrides merged into the config.
    """

    def __init__(self,
                 config: Union[PathLike, Config],
                 checkpoint: Optional[PathLike] = None,
                 device: Union[str, torch.device] = 'cpu',
                 tile: Optional[int] = None,
                 max_memory: Optional[Union[int, str]] = None,
                 progress: bool = True,
                 alpha: str = 'composite',
                 background: Sequence[int] = (255, 255, 255),
                 cfg_options: Optional[dict] = None) -> None:
        if tile is not None and max_memory is not None:
            raise InferenceError('pass either tile or max_memory, not both.')
        if tile is not None and (not isinstance(tile, int) or tile < 8):
            raise InferenceError(f'the tile size must be an integer >= 8 '
                                 f'pixels, got {tile!r}.')
        self.tile = tile
        self.max_memory = None if max_memory is None else (
            max_memory if isinstance(max_memory, int) else
            parse_memory(max_memory))
        if self.max_memory is not None:
            return_freed_memory()  # before the model and images arrive
        self.progress = progress
        self.alpha = alpha
        self.background = tuple(background)
        self.device = torch.device(device)
        config, checkpoint = resolve_run_files(config, checkpoint)
        self.config_path = config if isinstance(config, str) else None
        self.checkpoint_path = checkpoint
        self.model = init_model(config, checkpoint, device=self.device,
                                cfg_options=cfg_options)
        self.capability = capability_of(self.model)
        self._radius: Dict[str, Optional[int]] = {}
        self._cost: Dict[str, object] = {}
        #: how the last image was processed: ``(tile, halo, tiles)`` or None
        self.last_tiling: Optional[Tuple[int, int, int]] = None

    # -- capability ----------------------------------------------------------
    @property
    def commands(self) -> Tuple[str, ...]:
        return CAPABILITY_COMMANDS.get(self.capability, ())

    def require(self, command: str) -> None:
        """One-line error unless the model's capability has ``command``."""
        if command in self.commands:
            return
        name = type(self.model).__name__
        offered = ', '.join(self.commands) or 'no inference command'
        serving = [
            describe_capability(cap)
            for cap, cmds in CAPABILITY_COMMANDS.items() if command in cmds
        ]
        raise InferenceError(
            f'{command} serves {" and ".join(serving) or "no model"}; the '
            f'config builds {name}, {describe_capability(self.capability)}, '
            f'which offers: {offered}.')

    # -- reading -------------------------------------------------------------
    def read(self, image: ImageLike, channels: int = 3) -> np.ndarray:
        """A path or array -> ``(H, W, channels)`` uint8 / uint16."""
        if isinstance(image, np.ndarray):
            if image.ndim == 2:
                image = image[:, :, None]
            if image.ndim != 3 or image.dtype not in (np.uint8, np.uint16):
                raise InferenceError(
                    f'expected a uint8 / uint16 (H, W, C) image, got '
                    f'{image.dtype} {image.shape}.')
            if image.shape[2] == channels:
                return image
            if image.shape[2] == 1 and channels == 3:
                return np.repeat(image, 3, axis=2)
            raise InferenceError(f'expected {channels} channels, got '
                                 f'{image.shape[2]}.')
        return read_image(image, channels=channels, alpha=self.alpha,
                          background=self.background)

    # -- tiling --------------------------------------------------------------
    def run(self, op: TileOp, image: np.ndarray) -> np.ndarray:
        """Run a local operation on a whole image: untiled, or in tiles as
        ``tile`` / ``max_memory`` say."""
        height, width = image.shape[:2]
        tile = self.tile
        halo = None
        if tile is not None or self.max_memory is not None:
            if op.name not in self._radius:
                self._radius[op.name] = receptive_radius(op, self.device)
            halo = self._radius[op.name]
            if halo is None:
                raise TilingError(
                    f'{op.name} of {type(self.model).__name__} is not local '
                    '(every output depends on the whole input), so tiles '
                    'would change the result; run it without --tile / '
                    '--max-memory.')
        if self.max_memory is not None:
            tile = self._tile_for_budget(op, image, halo)
        if tile is None or tile >= max(height, width):
            self.last_tiling = None
            return run_tiled(op, image, None, device=self.device,
                             progress=False)
        out = run_tiled(op, image, tile, halo, device=self.device,
                        progress=self.progress)
        count = math.ceil(height / tile) * math.ceil(width / tile)
        self.last_tiling = (tile, halo, count)
        return out

    def _tile_for_budget(self, op: TileOp, image: np.ndarray,
                         halo: int) -> Optional[int]:
        if op.name not in self._cost:
            self._cost[op.name] = measure_tile_cost(op, self.device)
        cost = self._cost[op.name]
        height, width = image.shape[:2]
        out_pixels = height * width * op.scale**2
        out_channels = 3 * (self.model.num_images if op.name == 'restore'
                            else 1)
        reserved = (current_rss() or 0) + int(out_pixels * out_channels)
        budget = self.max_memory - reserved
        if budget <= 0:
            raise TilingError(
                f'the model and the image already take about '
                f'{format_bytes(reserved)}, more than --max-memory '
                f'{format_bytes(self.max_memory)}; raise it.')
        # 10 % for what the measurement cannot see (allocator slack)
        return choose_tile_size(height, width, halo, cost,
                                int(budget * 0.9), op.multiple)

    # -- rescaling -----------------------------------------------------------
    def _check_scale_multiple(self, image: np.ndarray, what: str) -> None:
        scale = int(self.model.scale)
        height, width = image.shape[:2]
        if height < scale or width < scale:
            raise InferenceError(
                f'{what} is {width}x{height} (width x height), smaller than '
                f'the scale {scale}; use an image of at least {scale}x{scale} '
                'pixels.')
        if height % scale or width % scale:
            raise InferenceError(
                f'{what} is {width}x{height} (width x height), not divisible '
                f'by the scale {scale}; crop it to {width - width % scale}x'
                f'{height - height % scale} (infer.py: --modcrop).')

    def downscale(self, image: ImageLike, modcrop: bool = False
                  ) -> np.ndarray:
        """An HR image -> the LR the model ships, uint8 ``(H/s, W/s, c)``."""
        self.require('downscale')
        model = self.model
        channels = int(model.generator.in_channels)
        hr = self.read(image, 1 if channels == 1 else 3)
        scale = int(model.scale)
        if modcrop:
            hr = hr[:hr.shape[0] - hr.shape[0] % scale,
                    :hr.shape[1] - hr.shape[1] % scale]
            if 0 in hr.shape[:2]:
                raise InferenceError(f'the image is smaller than the scale '
                                     f'{scale}.')
        self._check_scale_multiple(hr, 'the image')
        op = TileOp(lambda x, _: model.downscale(x), hr.shape[2],
                    Fraction(1, scale), scale, name='downscale')
        return self.run(op, hr)

    def upscale(self, lr: ImageLike, **latent) -> np.ndarray:
        """An LR image -> the restored HR, uint8 ``(H, W, C)``. ``latent``:
        ``latent='zero'`` or ``'gaussian'``, ``seed``, ``gaussian_scale``
        (defaults: the config's ``test_cfg``)."""
        self.require('upscale')
        model = self.model
        lr = self.read(lr, int(model.lr_channels))
        like = torch.zeros((1, lr.shape[2]) + lr.shape[:2])
        side = model.draw_upscale_latent(like, **latent)
        del like
        if side is not None:
            side = side.to('cpu')
        op = TileOp(
            lambda x, z: model.upscale(x, z=z) if z is not None else
            model.upscale(x, **latent),
            lr.shape[2], Fraction(int(model.scale)), 1, side_input=side,
            name='upscale')
        return self.run(op, lr)

    def roundtrip(self, image: ImageLike, codec: str = 'jpeg',
                  quality: int = 75, modcrop: bool = False,
                  **latent) -> RoundTrip:
        """Downscale, send the LR through a real codec (``'jpeg'``: Pillow
        4:2:0, or ``'webp'``) at ``quality``, upscale, and measure."""
        self.require('roundtrip')
        from ..registry import DEGRADATIONS
        if codec not in ROUNDTRIP_CODECS:
            raise InferenceError(f'unknown codec {codec!r}; choose one of '
                                 f'{", ".join(ROUNDTRIP_CODECS)}.')
        coder = DEGRADATIONS.build(
            dict(type=ROUNDTRIP_CODECS[codec], quality=quality))
        channels = int(self.model.generator.in_channels)
        hr = self.read(image, 1 if channels == 1 else 3)
        if modcrop:
            scale = int(self.model.scale)
            hr = hr[:hr.shape[0] - hr.shape[0] % scale,
                    :hr.shape[1] - hr.shape[1] % scale]
        if hr.dtype != np.uint8:  # measured against what 8-bit output holds
            hr = ((hr.astype(np.uint32) + 128) // 257).astype(np.uint8)
        lr = self.downscale(hr)
        rgb_lr = np.repeat(lr, 3, axis=2) if lr.shape[2] == 1 else lr
        bitstream = coder.encode(np.ascontiguousarray(rgb_lr))
        received = coder.decode(bitstream)
        if lr.shape[2] == 1:
            received = received[:, :, :1]
        restored = self.upscale(received, **latent)
        scale = int(self.model.scale)
        return RoundTrip(
            lr, bitstream, received, restored, _psnr_8bit(restored, hr),
            _psnr_8bit(restored, hr, y_only=True, crop=scale),
            8.0 * len(bitstream) / (hr.shape[0] * hr.shape[1]))

    # -- reversible conversion ----------------------------------------------
    def embed(self, images: Sequence[ImageLike]) -> np.ndarray:
        """The model's K images (natural order; paths or arrays of one size)
        -> the 8-bit embedding, uint8 ``(H/s, W/s, c)``."""
        self.require('embed')
        model = self.model
        if self.capability != 'conversion':
            raise InferenceError('Inferencer.embed takes images for a '
                                 'reversible-conversion model; novel-view '
                                 'models embed an MPI folder (infer.py '
                                 'embed).')
        k = int(model.num_images)
        if len(images) != k:
            raise InferenceError(
                f'{type(model.task).__name__} embeds {k} images, got '
                f'{len(images)}.')
        arrays = [self.read(img, 3) for img in images]
        arrays = [a if a.dtype == np.uint8 else
                  ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)
                  for a in arrays]
        sizes = {a.shape for a in arrays}
        if len(sizes) > 1:
            raise InferenceError(f'the {k} images differ in size '
                                 f'({sorted(s[:2] for s in sizes)}); they '
                                 'must all have one size.')
        s = int(model.conversion_scale)
        height, width = arrays[0].shape[:2]
        if height % s or width % s:
            raise InferenceError(
                f'the images are {width}x{height}, not divisible by the '
                f'embedding scale {s}; crop them to {width - width % s}x'
                f'{height - height % s}.')
        stacked = np.concatenate(arrays, axis=2)
        del arrays

        def embed(x, _):
            n, _, h, w = x.shape
            return model.embed(x.reshape(n, k, 3, h, w))

        op = TileOp(embed, 3 * k, Fraction(1, s), s, name='embed')
        return self.run(op, stacked)

    def restore(self, embedding: ImageLike) -> List[np.ndarray]:
        """An embedding -> the K restored images (natural order), uint8
        ``(H, W, 3)`` each."""
        self.require('restore')
        model = self.model
        k, c = int(model.num_images), int(model.embedding_channels)
        emb = self.read(embedding, c)
        if emb.dtype != np.uint8:
            emb = ((emb.astype(np.uint32) + 128) // 257).astype(np.uint8)

        def restore(x, _):
            y = model.restore(x)
            n, _, _, h, w = y.shape
            return y.reshape(n, 3 * k, h, w)

        op = TileOp(restore, c, Fraction(int(model.conversion_scale)), 1,
                    name='restore')
        out = self.run(op, emb)
        return [
            np.ascontiguousarray(out[:, :, 3 * i:3 * i + 3]) for i in range(k)
        ]
