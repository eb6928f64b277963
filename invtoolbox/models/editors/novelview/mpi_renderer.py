# Copyright (c) invtoolbox contributors. All rights reserved.
"""Rendering a multiplane image (MPI) from a new camera pose.

An MPI is ``P`` fronto-parallel RGBA planes in the reference camera's
frame, plane ``i`` at depth ``depths[i]`` (far to near, as
:func:`plane_depths` orders them). A view from a target pose is made by
warping every plane into the target camera with the homography that the
plane induces, then compositing back to front with the *over* operator.
This is the renderer of the official novel-view code (``mpi_render.py``,
itself a port of Stereo Magnification's), written batched in torch and
differentiable with respect to the MPI:

- poses are ``4 x 4`` matrices ``[R | t]`` mapping a point from the
  reference (source) camera to the target camera: ``p_t = R p_s + t``;
- a target pixel ``(u, v)`` (pixel centres at integer coordinates)
  samples plane ``i`` at ``H_i (u, v, 1)``, with
  ``H_i = K (R^T + R^T t n R^T / (a - n R^T t)) K^-1``, ``n = (0, 0, 1)``
  and ``a = -depth_i``;
- intrinsics are given as fractions of the image size:
  ``fx * W``, ``fy * H``, principal point ``(W / 2, H / 2)``;
- outside the plane, RGB and alpha are 0 (zero padding).

Sampling: ``'exact'`` (default) samples with pixel centres at integer
coordinates, so the identity pose reproduces the MPI's composite exactly.
``'official'`` reproduces the official code, which normalises coordinates
by ``W - 1`` but samples with ``align_corners=False`` (the default of
``F.grid_sample`` since torch 1.3): every view is resampled by a factor
``W / (W - 1)`` about the image origin and shifted by half a pixel, and the
border pixels blend with the zero padding.
"""
from __future__ import annotations

import math
import numbers
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ....registry import MODELS

__all__ = [
    'plane_depths', 'camera_intrinsics', 'rotation_matrix', 'pose_matrix',
    'plane_homographies', 'over_composite', 'render_mpi', 'MPIRenderer',
    'SAMPLINGS', 'check_pose'
]

SAMPLINGS = ('exact', 'official')

Number = Union[int, float]


def plane_depths(num_planes: int = 32, near: float = 1.0,
                 far: float = 100.0) -> Tensor:
    """Depths of ``num_planes`` planes evenly spaced in inverse depth
    between ``near`` and ``far`` (both included), farthest first (official
    ``inv_depths(near, far, num_planes)``; float64 maths, float32 out)."""
    if not (isinstance(num_planes, numbers.Integral) and num_planes >= 2):
        raise ValueError(f'plane_depths: num_planes must be an int >= 2, got '
                         f'{num_planes!r}.')
    if not 0 < near < far:
        raise ValueError(f'plane_depths: need 0 < near < far, got near='
                         f'{near!r}, far={far!r}.')
    depths = [float(near), float(far)]
    for i in range(1, num_planes - 1):
        fraction = i / (num_planes - 1)
        depths.append(1.0 / (1.0 / near + (1.0 / far - 1.0 / near) *
                             fraction))
    return torch.tensor(sorted(depths)[::-1], dtype=torch.float32)


def camera_intrinsics(height: int, width: int, fx: float = 0.5,
                      fy: float = 0.5,
                      dtype: torch.dtype = torch.float32,
                      device=None) -> Tensor:
    """The ``(3, 3)`` pinhole matrix with focal lengths ``fx * width``,
    ``fy * height`` and the principal point ``(width / 2, height / 2)``
    (the official convention)."""
    return torch.tensor(
        [[fx * width, 0.0, width * 0.5], [0.0, fy * height, height * 0.5],
         [0.0, 0.0, 1.0]],
        dtype=dtype,
        device=device)


def rotation_matrix(rotation: Union[Sequence[Number], Tensor],
                    dtype: torch.dtype = torch.float32) -> Tensor:
    """Rotation from angles in degrees ``(rx, ry, rz)`` (about x, y, z).

    ``R = Rx(rx) Ry(ry) Rz(rz)``: the official
    ``scipy.spatial.transform.Rotation.from_euler('zyx', [rz, ry, rx],
    degrees=True)`` (extrinsic: first about z, then y, then x). Accepts
    ``(3,)`` or batched ``(N, 3)``; returns ``(3, 3)`` or ``(N, 3, 3)``.
    """
    angles = torch.as_tensor(rotation, dtype=torch.float64)
    if angles.shape[-1:] != (3, ) or angles.dim() > 2:
        raise ValueError('rotation_matrix: expected (rx, ry, rz) in degrees '
                         f'as (3,) or (N, 3), got shape {tuple(angles.shape)}.')
    rad = angles * (math.pi / 180)
    c, s = torch.cos(rad), torch.sin(rad)
    one, zero = torch.ones_like(c[..., 0]), torch.zeros_like(c[..., 0])

    def mat(rows):
        return torch.stack([torch.stack(r, -1) for r in rows], -2)

    rx = mat([[one, zero, zero], [zero, c[..., 0], -s[..., 0]],
              [zero, s[..., 0], c[..., 0]]])
    ry = mat([[c[..., 1], zero, s[..., 1]], [zero, one, zero],
              [-s[..., 1], zero, c[..., 1]]])
    rz = mat([[c[..., 2], -s[..., 2], zero], [s[..., 2], c[..., 2], zero],
              [zero, zero, one]])
    return (rx @ ry @ rz).to(dtype)


def pose_matrix(translation: Union[Sequence[Number], Tensor] = (0, 0, 0),
                rotation: Union[Sequence[Number], Tensor] = (0, 0, 0),
                dtype: torch.dtype = torch.float32) -> Tensor:
    """A ``(4, 4)`` (or batched ``(N, 4, 4)``) pose ``[R | t; 0 0 0 1]``
    from a translation ``(tx, ty, tz)`` (in the MPI's depth units) and
    angles ``(rx, ry, rz)`` in degrees (see :func:`rotation_matrix`)."""
    t = torch.as_tensor(translation, dtype=torch.float64)
    rot = rotation_matrix(rotation, torch.float64)
    if t.shape[-1:] != (3, ) or t.dim() > 2:
        raise ValueError('pose_matrix: expected (tx, ty, tz) as (3,) or '
                         f'(N, 3), got shape {tuple(t.shape)}.')
    batch = torch.broadcast_shapes(t.shape[:-1], rot.shape[:-2])
    pose = torch.zeros(*batch, 4, 4, dtype=torch.float64)
    pose[..., :3, :3] = rot
    pose[..., :3, 3] = t
    pose[..., 3, 3] = 1
    return pose.to(dtype)


def check_pose(translation: Sequence[Number], rotation: Sequence[Number],
               max_translation: float, max_rotation: float,
               near: float) -> None:
    """One-line error for a pose outside the range an MPI supports: a
    translation component beyond ``max_translation``, an angle beyond
    ``max_rotation`` degrees, or a forward move past the nearest plane."""
    for axis, value in zip('xyz', translation):
        if not math.isfinite(value) or abs(value) > max_translation:
            raise ValueError(
                f'translation {axis}={value:g} is outside the range this MPI '
                f'supports (|t| <= {max_translation:g}, the training range);'
                ' use a smaller move.')
    for axis, value in zip('xyz', rotation):
        if not math.isfinite(value) or abs(value) > max_rotation:
            raise ValueError(
                f'rotation about {axis} of {value:g} degrees is outside the '
                f'range this MPI supports (|r| <= {max_rotation:g}); use a '
                'smaller angle.')
    if len(translation) == 3 and -translation[2] >= near:
        raise ValueError(
            f'translation z={translation[2]:g} moves the camera past the '
            f'nearest MPI plane (depth {near:g}); use z > {-near:g}.')


def plane_homographies(pose: Tensor, depths: Tensor,
                       intrinsics: Tensor) -> Tensor:
    """Target-to-source homographies of fronto-parallel planes.

    Args:
        pose (Tensor): ``(N, 4, 4)`` source-to-target poses.
        depths (Tensor): ``(P,)`` plane depths.
        intrinsics (Tensor): ``(N, 3, 3)`` or ``(3, 3)``, shared by the
            source and target cameras.

    Returns:
        Tensor: ``(N, P, 3, 3)`` matrices mapping homogeneous target pixels
        to source pixels.
    """
    rot = pose[:, :3, :3]
    t = pose[:, :3, 3:]  # (N, 3, 1)
    k = intrinsics.expand(pose.shape[0], 3, 3)
    rot_t = rot.transpose(-1, -2)
    n_hat = torch.zeros(1, 3, dtype=pose.dtype, device=pose.device)
    n_hat[0, 2] = 1
    a = -depths.to(pose)[None, :, None, None]  # (1, P, 1, 1)
    # denominator a - n R^T t and numerator R^T t n R^T (as official)
    denom = a - (n_hat @ rot_t @ t)[:, None]  # (N, P, 1, 1)
    numerator = (rot_t @ t @ n_hat @ rot_t)[:, None]  # (N, 1, 3, 3)
    denom = torch.where(denom == 0, torch.full_like(denom, 1e-8), denom)
    middle = rot_t[:, None] + numerator / denom
    return k[:, None] @ middle @ torch.linalg.inv(k)[:, None]


def over_composite(rgba: Tensor) -> Tensor:
    """Back-to-front *over* compositing of ``(N, P, 4, H, W)`` planes
    (plane 0 the farthest; its alpha is taken as 1, as the official
    ``over_composite``): ``out = rgb_0``, then
    ``out = rgb_i * a_i + out * (1 - a_i)``. Returns ``(N, 3, H, W)``."""
    rgb, alpha = rgba[:, :, :3], rgba[:, :, 3:]
    alpha = torch.cat([torch.ones_like(alpha[:, :1]), alpha[:, 1:]], dim=1)
    # transmittance of everything in front of plane i: prod_{j > i} 1 - a_j
    keep = torch.flip(torch.cumprod(torch.flip(1 - alpha, [1]), dim=1), [1])
    front = torch.cat([keep[:, 1:], torch.ones_like(keep[:, :1])], dim=1)
    return (rgb * alpha * front).sum(dim=1)


def render_mpi(mpi: Tensor,
               pose: Tensor,
               depths: Tensor,
               intrinsics: Tensor,
               sampling: str = 'exact') -> Tensor:
    """Render ``mpi`` from ``pose``.

    Args:
        mpi (Tensor): ``(N, P, 4, H, W)``: RGB (any range; the official
            code renders in [-1, 1]) and alpha in [0, 1]; plane 0 the
            farthest.
        pose (Tensor): ``(N, 4, 4)`` or ``(4, 4)`` source-to-target pose.
        depths (Tensor): ``(P,)`` plane depths, farthest first.
        intrinsics (Tensor): ``(3, 3)`` or ``(N, 3, 3)`` pixel intrinsics.
        sampling (str): ``'exact'`` or ``'official'`` (see the module doc).

    Returns:
        Tensor: ``(N, 3, H, W)``, the view (differentiable w.r.t. ``mpi``).
    """
    if not isinstance(mpi, Tensor) or mpi.dim() != 5 or mpi.shape[2] != 4:
        raise ValueError('render_mpi: mpi must be an (N, P, 4, H, W) tensor, '
                         f'got {getattr(mpi, "shape", type(mpi).__name__)}.')
    if sampling not in SAMPLINGS:
        raise ValueError(f'render_mpi: sampling must be one of {SAMPLINGS}, '
                         f'got {sampling!r}.')
    n, p, _, h, w = mpi.shape
    if depths.numel() != p:
        raise ValueError(f'render_mpi: {depths.numel()} depths for {p} '
                         'planes.')
    pose = pose.to(device=mpi.device, dtype=torch.float64)
    if pose.dim() == 2:
        pose = pose.expand(n, 4, 4)
    intrinsics = intrinsics.to(device=mpi.device, dtype=torch.float64)
    homs = plane_homographies(pose, depths.to(mpi.device, torch.float64),
                              intrinsics)  # (N, P, 3, 3)
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=torch.float64, device=mpi.device),
        torch.arange(w, dtype=torch.float64, device=mpi.device),
        indexing='ij')
    pix = torch.stack([xs, ys, torch.ones_like(xs)], -1).reshape(-1, 3)
    src = pix @ homs.transpose(-1, -2)  # (N, P, HW, 3)
    z = src[..., 2:]
    z = torch.where(z == 0, torch.full_like(z, 1e-8), z)
    uv = src[..., :2] / z
    grid = torch.stack(
        [uv[..., 0] / (w - 1) * 2 - 1, uv[..., 1] / (h - 1) * 2 - 1], -1)
    grid = grid.reshape(n * p, h, w, 2).to(mpi.dtype)
    warped = F.grid_sample(
        mpi.reshape(n * p, 4, h, w),
        grid,
        mode='bilinear',
        padding_mode='zeros',
        align_corners=(sampling == 'exact'))
    return over_composite(warped.reshape(n, p, 4, h, w))


@MODELS.register_module()
class MPIRenderer(nn.Module):
    """Renders MPIs with fixed planes and camera (no parameters).

    Args:
        num_planes (int): planes P. Default: 32.
        near, far (float): depth range of the planes (inverse-depth
            spacing). Default: 1, 100 (official).
        fx, fy (float): focal lengths as fractions of the image width /
            height. Default: 0.5, 0.5 (official training); the official
            evaluation uses 0.486242434, 0.864430976 (RealEstate10K).
        sampling (str): ``'exact'`` or ``'official'``. Default: ``'exact'``.

    ``renderer(mpi, pose)`` with ``mpi`` ``(N, P, 4, H, W)`` (alpha in
    [0, 1]) and ``pose`` ``(N, 4, 4)`` or ``(4, 4)`` returns the view
    ``(N, 3, H, W)``.
    """

    def __init__(self,
                 num_planes: int = 32,
                 near: float = 1.0,
                 far: float = 100.0,
                 fx: float = 0.5,
                 fy: float = 0.5,
                 sampling: str = 'exact') -> None:
        super().__init__()
        if sampling not in SAMPLINGS:
            raise ValueError(f'MPIRenderer: sampling must be one of '
                             f'{SAMPLINGS}, got {sampling!r}.')
        if not (fx > 0 and fy > 0):
            raise ValueError(f'MPIRenderer: fx and fy must be positive '
                             f'fractions of the image size, got {fx}, {fy}.')
        self.num_planes = int(num_planes)
        self.near, self.far = float(near), float(far)
        self.fx, self.fy = float(fx), float(fy)
        self.sampling = sampling
        self.register_buffer(
            'depths', plane_depths(self.num_planes, near, far),
            persistent=False)

    def intrinsics(self, height: int, width: int) -> Tensor:
        """The ``(3, 3)`` intrinsics for an image of this size."""
        return camera_intrinsics(height, width, self.fx, self.fy,
                                 torch.float64)

    def forward(self, mpi: Tensor, pose: Tensor) -> Tensor:
        if mpi.dim() == 5 and mpi.shape[1] != self.num_planes:
            raise ValueError(f'MPIRenderer: built for {self.num_planes} '
                             f'planes, got an MPI of {mpi.shape[1]}.')
        return render_mpi(mpi, pose, self.depths,
                          self.intrinsics(mpi.shape[-2], mpi.shape[-1]),
                          self.sampling)

    def random_poses(self, num: int, max_translation: float,
                     max_rotation: float,
                     generator: Optional[torch.Generator] = None) -> Tensor:
        """``(num, 4, 4)`` poses with every translation component uniform
        in ``[-max_translation, max_translation]`` and every angle uniform
        in ``[-max_rotation, max_rotation]`` degrees (the official
        ``random_render`` draws, from ``generator``)."""
        draws = torch.rand(num, 6, generator=generator, dtype=torch.float64)
        draws = draws * 2 - 1
        return pose_matrix(draws[:, :3] * max_translation,
                           draws[:, 3:] * max_rotation)

    def extra_repr(self) -> str:
        return (f'num_planes={self.num_planes}, near={self.near}, '
                f'far={self.far}, fx={self.fx}, fy={self.fy}, '
                f"sampling='{self.sampling}'")
