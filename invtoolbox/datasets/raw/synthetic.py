# Copyright (c) invtoolbox contributors. All rights reserved.
"""A synthetic camera: realistic Bayer RAW from sRGB photographs.

After Brooks et al., "Unprocessing Images for Learned Raw Denoising" (CVPR
2019): an sRGB image is taken back through an inverted camera pipeline
(tone curve, gamma, colour correction, white balance, exposure), mosaicked
and given heteroscedastic sensor noise, then offset by the black level and
quantised to the white level.

The noise-free pipeline between linear camera RGB and sRGB is exposed in
both directions (:func:`process_linear`, :func:`unprocess_linear`). It
needs nothing but the RAW's metadata (``meta.wb`` and ``meta.color_matrix``),
so a baseline can render a RAW to sRGB and invert the rendering knowing
only the file's metadata.
"""
import hashlib
import json
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from .dng import XYZ_TO_SRGB
from .metadata import CFA_PATTERNS, RawMetadata

#: linear sRGB -> XYZ (D65), IEC 61966-2-1.
SRGB_TO_XYZ = ((0.4124564, 0.3575761, 0.1804375),
               (0.2126729, 0.7151522, 0.0721750),
               (0.0193339, 0.1191920, 0.9503041))

#: XYZ -> camera matrices (D65, DNG ColorMatrix convention) of real cameras,
#: from LibRaw's ``adobe_coeff`` table (``src/tables/colordata.cpp``, values
#: / 10000). The first two are the cameras of Invertible-ISP's FiveK data.
CAMERA_MATRICES = {
    'nikon_d700': ('Nikon D700',
                   (8139, -2171, -663, -8747, 16541, 2295, -1925, 2008,
                    8093)),
    'canon_eos_5d': ('Canon EOS 5D',
                     (6347, -479, -972, -8297, 15954, 2480, -1968, 2131,
                      7649)),
    'canon_eos_5d_mark_ii': ('Canon EOS 5D Mark II',
                             (4716, 603, -830, -7798, 15474, 2480, -1496,
                              1937, 6651)),
}


def xyz_to_camera(name: str) -> Tuple[float, ...]:
    """The 9 XYZ -> camera coefficients (row-major) of a named camera."""
    if name not in CAMERA_MATRICES:
        raise ValueError(f'unknown camera {name!r}; choose one of '
                         f"{sorted(CAMERA_MATRICES)} or 'random'")
    return tuple(v / 10000.0 for v in CAMERA_MATRICES[name][1])


def camera_to_srgb(color_matrix: Optional[Sequence[float]]) -> np.ndarray:
    """The 3x3 colour-correction matrix, camera RGB -> linear sRGB.

    As Brooks et al. and LibRaw: ``rgb2cam = xyz2cam @ srgb2xyz`` with each
    row normalised to sum 1 (white-balanced white stays white), inverted.

    Args:
        color_matrix (Sequence[float], optional): 9 floats, XYZ -> camera
            (``RawMetadata.color_matrix``); None means the camera is linear
            sRGB (:data:`XYZ_TO_SRGB`, as :func:`write_dng` writes then).

    Returns:
        np.ndarray: (3, 3) float64, applied as ``srgb = ccm @ cam``.
    """
    xyz2cam = np.asarray(XYZ_TO_SRGB if color_matrix is None else
                         color_matrix, dtype=np.float64)
    if xyz2cam.size != 9 or not np.isfinite(xyz2cam).all():
        raise ValueError('color_matrix must be 9 finite floats (3x3 XYZ -> '
                         f'camera), got {color_matrix!r}')
    rgb2cam = xyz2cam.reshape(3, 3) @ np.asarray(SRGB_TO_XYZ)
    sums = rgb2cam.sum(axis=1, keepdims=True)
    if np.any(np.abs(sums) < 1e-6) or abs(np.linalg.det(rgb2cam)) < 1e-9:
        raise ValueError(f'color_matrix {color_matrix!r} is singular: it '
                         'cannot map camera RGB to sRGB')
    return np.linalg.inv(rgb2cam / sums)


def srgb_gamma(x: np.ndarray) -> np.ndarray:
    """Linear -> sRGB-encoded (IEC 61966-2-1), on ``[0, 1]``."""
    return np.where(x <= 0.0031308, 12.92 * x,
                    1.055 * np.power(np.maximum(x, 0.0031308), 1 / 2.4) -
                    0.055)


def srgb_degamma(y: np.ndarray) -> np.ndarray:
    """sRGB-encoded -> linear, the exact inverse of :func:`srgb_gamma`."""
    return np.where(y <= 0.04045, y / 12.92,
                    np.power((np.maximum(y, 0.04045) + 0.055) / 1.055, 2.4))


def smoothstep(x: np.ndarray) -> np.ndarray:
    """Global tone curve ``3x^2 - 2x^3`` on ``[0, 1]`` (Brooks et al.)."""
    return 3 * x * x - 2 * x * x * x


def inverse_smoothstep(y: np.ndarray) -> np.ndarray:
    """Inverse of :func:`smoothstep` on ``[0, 1]``."""
    y = np.clip(y, 0.0, 1.0)
    return 0.5 - np.sin(np.arcsin(1.0 - 2.0 * y) / 3.0)


def _gains(meta: RawMetadata) -> np.ndarray:
    wb = np.asarray(meta.wb, dtype=np.float64)
    if not np.all(wb > 0):
        raise ValueError(f'meta.wb must be positive, got {meta.wb}')
    return wb / wb[1]


def _check_chw(img: np.ndarray, name: str) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[0] != 3:
        raise ValueError(f'{name}: expected a (3, H, W) image, got shape '
                         f'{img.shape}')
    if not np.issubdtype(img.dtype, np.floating):
        raise ValueError(f'{name}: expected floats, got {img.dtype}')
    return img


def process_linear(cam: np.ndarray, meta: RawMetadata) -> np.ndarray:
    """Render linear camera RGB to sRGB with the known, noise-free pipeline.

    White balance (``meta.wb / meta.wb[1]``) -> clip -> colour correction
    (:func:`camera_to_srgb` of ``meta.color_matrix``) -> clip -> sRGB gamma
    -> tone curve (:func:`smoothstep`).

    Args:
        cam (np.ndarray): (3, H, W) float, linear camera RGB,
            black-subtracted and divided by ``white - black`` (so ``[0, 1]``).
        meta (RawMetadata): the RAW's metadata (only ``wb`` and
            ``color_matrix`` are used).

    Returns:
        np.ndarray: (3, H, W) sRGB in ``[0, 1]``, the dtype of ``cam``.
    """
    cam = _check_chw(cam, 'process_linear')
    x = cam.astype(np.float64) * _gains(meta)[:, None, None]
    x = np.clip(x, 0.0, 1.0)
    x = np.einsum('ij,jhw->ihw', camera_to_srgb(meta.color_matrix), x)
    x = np.clip(x, 0.0, 1.0)
    return smoothstep(srgb_gamma(x)).astype(cam.dtype)


def unprocess_linear(srgb: np.ndarray, meta: RawMetadata) -> np.ndarray:
    """Invert :func:`process_linear`: sRGB -> linear camera RGB.

    Inverse tone curve -> inverse sRGB gamma -> inverse colour correction
    -> inverse white balance. Exact where ``process_linear`` did not clip;
    the result is not clipped (it may leave ``[0, 1]`` for saturated
    colours).

    Args:
        srgb (np.ndarray): (3, H, W) float sRGB in ``[0, 1]`` (values
            outside are clipped first, e.g. a decoded JPEG's overshoot).
        meta (RawMetadata): the RAW's metadata (``wb``, ``color_matrix``).

    Returns:
        np.ndarray: (3, H, W) linear camera RGB, the dtype of ``srgb``.
    """
    srgb = _check_chw(srgb, 'unprocess_linear')
    x = srgb_degamma(inverse_smoothstep(srgb.astype(np.float64)))
    rgb2cam = np.linalg.inv(camera_to_srgb(meta.color_matrix))
    x = np.einsum('ij,jhw->ihw', rgb2cam, x)
    return (x / _gains(meta)[:, None, None]).astype(srgb.dtype)


def _mosaic(cam: np.ndarray, cfa: str) -> np.ndarray:
    """(3, H, W) -> (H, W): keep the colour of each site of the ``cfa``."""
    index = {'R': 0, 'G': 1, 'B': 2}
    out = np.empty(cam.shape[1:], dtype=cam.dtype)
    for site, letter in enumerate(cfa):
        i, j = divmod(site, 2)
        out[i::2, j::2] = cam[index[letter], i::2, j::2]
    return out


@dataclass(frozen=True)
class SyntheticDraw:
    """The random settings of one synthetic RAW (all from one seed).

    Attributes:
        color_matrix (tuple): 9 floats, XYZ -> camera.
        wb (tuple): (R, G, B) white-balance gains, G = 1.
        exposure (float): linear scale applied before mosaicking (< 1
            darkens, as a real RAW is darker than its rendering).
        shot_noise (float): variance per unit signal (``[0, 1]`` scale).
        read_noise (float): signal-independent variance.
    """
    color_matrix: Tuple[float, ...]
    wb: Tuple[float, float, float]
    exposure: float
    shot_noise: float
    read_noise: float


class SyntheticCamera:
    """Make Bayer RAW from sRGB by inverting a camera pipeline (Brooks et al.).

    Per image, from its seed: the camera matrix (a named camera, or a
    random convex combination of :data:`CAMERA_MATRICES` when
    ``camera='random'``), white-balance gains (red and blue uniform in
    ``red_gain``/``blue_gain``), an exposure (normal ``exposure`` =
    (mean, std), clipped to [0.5, 1]) and the noise levels (shot variance
    log-uniform in ``shot_noise``; read variance ``exp(2.18 log(shot) +
    1.20 + N(0, 0.26))``, the paper's fit). The signal ``x`` in ``[0, 1]``
    gets ``N(0, shot * x + read)`` noise, then ``black + x (white - black)``
    is rounded and clipped to ``[0, white]``.

    Args:
        cfa (str): one of :data:`CFA_PATTERNS`. Default: 'RGGB'.
        black_level (int | Sequence[int]): one level, or 4 in row-major CFA
            order. Default: 512.
        white_level (int): saturation value, at most 65535. Default: 16383.
        camera (str): a key of :data:`CAMERA_MATRICES` or 'random'.
            Default: 'nikon_d700'.
        red_gain (tuple): range of the red WB gain. Default: (1.9, 2.4).
        blue_gain (tuple): range of the blue WB gain. Default: (1.5, 1.9).
        exposure (tuple): (mean, std) of the exposure. Default: (0.8, 0.1).
        shot_noise (tuple): range of the shot variance. Default:
            (1e-4, 1.2e-2).
        noise (bool): add sensor noise. Default: True.
    """

    def __init__(self,
                 cfa: str = 'RGGB',
                 black_level: Union[int, Sequence[int]] = 512,
                 white_level: int = 16383,
                 camera: str = 'nikon_d700',
                 red_gain: Tuple[float, float] = (1.9, 2.4),
                 blue_gain: Tuple[float, float] = (1.5, 1.9),
                 exposure: Tuple[float, float] = (0.8, 0.1),
                 shot_noise: Tuple[float, float] = (1e-4, 1.2e-2),
                 noise: bool = True) -> None:
        if cfa not in CFA_PATTERNS:
            raise ValueError(f'SyntheticCamera: cfa must be one of '
                             f'{CFA_PATTERNS}, got {cfa!r}')
        if camera != 'random':
            xyz_to_camera(camera)  # validates the name
        black = (black_level, ) * 4 if np.isscalar(black_level) \
            else tuple(black_level)
        if len(black) != 4 or any(int(b) != b for b in black):
            raise ValueError('SyntheticCamera: black_level must be one '
                             'integer or 4 (row-major CFA order), got '
                             f'{black_level!r}')
        if not 0 < int(white_level) <= 65535 or \
                any(not 0 <= b < white_level for b in black):
            raise ValueError('SyntheticCamera: need 0 <= black_level < '
                             f'white_level <= 65535, got {black} and '
                             f'{white_level}')
        for name, rng in (('red_gain', red_gain), ('blue_gain', blue_gain),
                          ('shot_noise', shot_noise)):
            if len(rng) != 2 or not 0 < rng[0] <= rng[1]:
                raise ValueError(f'SyntheticCamera: {name} must be a range '
                                 f'(low, high) with 0 < low <= high, got '
                                 f'{rng!r}')
        self.cfa = cfa
        self.black_level = tuple(int(b) for b in black)
        self.white_level = int(white_level)
        self.camera = camera
        self.red_gain = tuple(float(v) for v in red_gain)
        self.blue_gain = tuple(float(v) for v in blue_gain)
        self.exposure = tuple(float(v) for v in exposure)
        self.shot_noise = tuple(float(v) for v in shot_noise)
        self.noise = bool(noise)

    def settings(self) -> dict:
        """The constructor arguments, as a JSON-able dict."""
        return dict(cfa=self.cfa, black_level=list(self.black_level),
                    white_level=self.white_level, camera=self.camera,
                    red_gain=list(self.red_gain),
                    blue_gain=list(self.blue_gain),
                    exposure=list(self.exposure),
                    shot_noise=list(self.shot_noise), noise=self.noise)

    def settings_hash(self) -> str:
        """A short hash of :meth:`settings` (names cache folders)."""
        text = json.dumps(self.settings(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def draw(self, seed: int) -> SyntheticDraw:
        """The random settings of the image of ``seed`` (deterministic)."""
        return self._draw(np.random.default_rng(seed))

    def _draw(self, rng: np.random.Generator) -> SyntheticDraw:
        if self.camera == 'random':
            names = sorted(CAMERA_MATRICES)
            weights = rng.uniform(1e-8, 1.0, size=len(names))
            weights /= weights.sum()
            matrix = sum(w * np.asarray(xyz_to_camera(n))
                         for w, n in zip(weights, names))
            matrix = tuple(float(v) for v in matrix)
        else:
            matrix = xyz_to_camera(self.camera)
        red = float(rng.uniform(*self.red_gain))
        blue = float(rng.uniform(*self.blue_gain))
        exposure = float(
            np.clip(rng.normal(*self.exposure), 0.5, 1.0))
        log_shot = rng.uniform(np.log(self.shot_noise[0]),
                               np.log(self.shot_noise[1]))
        log_read = 2.18 * log_shot + 1.20 + rng.normal(0.0, 0.26)
        return SyntheticDraw(matrix, (red, 1.0, blue), exposure,
                             float(np.exp(log_shot)),
                             float(np.exp(log_read)))

    def metadata(self, draw: SyntheticDraw) -> RawMetadata:
        """The :class:`RawMetadata` of a RAW made with ``draw``."""
        label = self.camera if self.camera == 'random' else \
            CAMERA_MATRICES[self.camera][0]
        return RawMetadata(
            cfa=self.cfa, black_level=tuple(float(b) for b in
                                            self.black_level),
            white_level=self.white_level, wb=draw.wb, flip=0,
            color_matrix=draw.color_matrix,
            camera=f'invtoolbox synthetic ({label})')

    def unprocess(self, srgb: np.ndarray,
                  seed: int) -> Tuple[np.ndarray, RawMetadata]:
        """Turn an sRGB photograph into a noisy Bayer RAW.

        Args:
            srgb (np.ndarray): (H, W, 3) float sRGB in ``[0, 1]``. An odd
                height or width is cropped to even (the last row/column
                goes).
            seed (int): seeds every random choice; the same image and seed
                give the same RAW.

        Returns:
            tuple: ``bayer`` (H, W) uint16 in ``[0, white_level]`` (the
            top-left pixel is ``cfa[0]``) and its :class:`RawMetadata`;
            ``unprocess_linear(srgb, meta) * draw(seed).exposure`` is the
            noise-free signal before mosaicking.
        """
        srgb = np.asarray(srgb)
        if srgb.ndim != 3 or srgb.shape[2] != 3:
            raise ValueError('SyntheticCamera.unprocess: expected an (H, W, '
                             f'3) sRGB image, got shape {srgb.shape}')
        if not np.issubdtype(srgb.dtype, np.floating):
            raise ValueError('SyntheticCamera.unprocess: expected floats in '
                             f'[0, 1], got {srgb.dtype}; divide 8-bit '
                             'images by 255')
        if not np.isfinite(srgb).all() or srgb.min() < -1e-6 or \
                srgb.max() > 1 + 1e-6:
            raise ValueError('SyntheticCamera.unprocess: values must be '
                             'finite and in [0, 1], got '
                             f'[{srgb.min()}, {srgb.max()}]')
        height, width = srgb.shape[0] // 2 * 2, srgb.shape[1] // 2 * 2
        if height == 0 or width == 0:
            raise ValueError('SyntheticCamera.unprocess: the image is '
                             f'smaller than one 2x2 CFA cell: {srgb.shape}')
        rng = np.random.default_rng(seed)
        draw = self._draw(rng)
        meta = self.metadata(draw)
        chw = np.clip(srgb[:height, :width], 0, 1).transpose(2, 0, 1)
        cam = unprocess_linear(chw.astype(np.float64), meta) * draw.exposure
        x = _mosaic(np.clip(cam, 0.0, 1.0), self.cfa)
        if self.noise:
            std = np.sqrt(draw.shot_noise * x + draw.read_noise)
            x = x + std * rng.standard_normal(x.shape)
        black = np.empty((2, 2))
        black.flat[:] = self.black_level
        black = np.tile(black, (height // 2, width // 2))
        digital = np.round(black + x * (self.white_level - black))
        bayer = np.clip(digital, 0, self.white_level).astype(np.uint16)
        return bayer, meta
