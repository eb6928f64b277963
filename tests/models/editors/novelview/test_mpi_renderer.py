# Copyright (c) invtoolbox contributors. All rights reserved.
"""The MPI renderer on scenes whose views are known analytically."""
import math

import pytest
import torch
import torch.nn.functional as F

from invtoolbox.models.editors.novelview import (MPIRenderer,
                                                 camera_intrinsics,
                                                 check_pose, over_composite,
                                                 plane_depths, pose_matrix,
                                                 render_mpi, rotation_matrix)

H, W = 24, 40


def ramp_plane(slope=0.01, offset=-0.2):
    """An opaque plane whose colour is ``offset + slope * u`` (u = column)."""
    u = torch.arange(W, dtype=torch.float64)
    rgb = (offset + slope * u).expand(3, H, W)
    return torch.cat([rgb, torch.ones(1, H, W, dtype=torch.float64)])


def textured_plane(seed=0):
    gen = torch.Generator().manual_seed(seed)
    rgb = torch.rand(3, H, W, generator=gen, dtype=torch.float64) * 2 - 1
    return torch.cat([rgb, torch.ones(1, H, W, dtype=torch.float64)])


def empty_plane():
    return torch.zeros(4, H, W, dtype=torch.float64)


def mpi_of(*planes):
    return torch.stack(planes)[None]  # (1, P, 4, H, W), plane 0 farthest


def test_plane_depths_are_the_official_inverse_depths():
    depths = plane_depths(32, 1, 100)
    assert depths[0] == 100 and depths[-1] == 1 and depths.shape == (32, )
    inverse = 1 / depths.double()
    steps = inverse[1:] - inverse[:-1]
    torch.testing.assert_close(steps, torch.full_like(steps, 0.99 / 31),
                               rtol=1e-5, atol=0)


def test_rotation_matches_scipy_zyx_convention():
    rotation = pytest.importorskip('scipy.spatial.transform').Rotation
    for angles in [(3, -2, 5), (-8, 7.5, 1), (0, 0, 30)]:
        rx, ry, rz = angles
        expected = rotation.from_euler('zyx', [rz, ry, rx],
                                       degrees=True).as_matrix()
        torch.testing.assert_close(
            rotation_matrix(angles, torch.float64),
            torch.from_numpy(expected), rtol=0, atol=1e-12)


def test_identity_pose_reproduces_the_composite():
    gen = torch.Generator().manual_seed(1)
    mpi = torch.rand(2, 6, 4, H, W, generator=gen, dtype=torch.float64)
    k = camera_intrinsics(H, W, 0.5, 0.5, torch.float64)
    view = render_mpi(mpi, torch.eye(4, dtype=torch.float64),
                      plane_depths(6).double(), k)
    torch.testing.assert_close(view, over_composite(mpi), rtol=0, atol=1e-9)


def test_over_composite_back_to_front():
    back, front = textured_plane(0), textured_plane(1)
    front[3] = 0.25
    out = over_composite(mpi_of(back, front))
    torch.testing.assert_close(out[0], 0.25 * front[:3] + 0.75 * back[:3])
    back[3] = 0.1  # the farthest plane's alpha is taken as 1 (official)
    torch.testing.assert_close(
        over_composite(mpi_of(back, empty_plane()))[0], back[:3])


@pytest.mark.parametrize('depth,tx', [(10.0, 1.5), (4.0, -0.3), (2.0, 0.1)])
def test_single_plane_shifts_by_focal_times_translation_over_depth(depth, tx):
    fx = 0.5
    shift = fx * W * tx / depth  # pixels, to the right for tx > 0
    plane = ramp_plane()
    view = render_mpi(mpi_of(plane), pose_matrix((tx, 0, 0), dtype=torch.float64),
                      torch.tensor([depth]),
                      camera_intrinsics(H, W, fx, 0.5, torch.float64))[0]
    u = torch.arange(W, dtype=torch.float64)
    source = u - shift  # the column each target pixel sees
    inside = (source >= 0) & (source <= W - 1)
    expected = -0.2 + 0.01 * source
    torch.testing.assert_close(view[0][:, inside],
                               expected[inside].expand(H, -1), rtol=0,
                               atol=1e-9)


def test_integer_shift_moves_texture_exactly_and_pads_with_zeros():
    depth, fx, tx = 5.0, 0.5, 0.75  # 0.5 * 40 * 0.75 / 5 = 3 pixels
    plane = textured_plane()
    view = render_mpi(mpi_of(plane), pose_matrix((tx, 0, 0), dtype=torch.float64),
                      torch.tensor([depth]),
                      camera_intrinsics(H, W, fx, 0.5, torch.float64))[0]
    torch.testing.assert_close(view[:, :, 3:], plane[:3, :, :-3], rtol=0,
                               atol=1e-9)
    assert torch.all(view[:, :, :3].abs() < 1e-12)  # outside: RGB 0


def test_vertical_translation_moves_down():
    depth, fy, ty = 4.0, 0.5, 1.0  # 0.5 * 24 * 1 / 4 = 3 pixels down
    plane = textured_plane()
    view = render_mpi(mpi_of(plane), pose_matrix((0, ty, 0), dtype=torch.float64),
                      torch.tensor([depth]),
                      camera_intrinsics(H, W, 0.5, fy, torch.float64))[0]
    torch.testing.assert_close(view[:, 3:], plane[:3, :-3], rtol=0, atol=1e-9)


def test_forward_translation_magnifies_about_the_principal_point():
    depth, tz = 8.0, -2.0  # moving back by 2: content shrinks by 8 / 10
    view = render_mpi(mpi_of(ramp_plane()),
                      pose_matrix((0, 0, tz), dtype=torch.float64),
                      torch.tensor([depth]),
                      camera_intrinsics(H, W, 0.5, 0.5, torch.float64))[0]
    u = torch.arange(W, dtype=torch.float64)
    cx = W / 2
    source = cx + (u - cx) * (depth + tz) / depth
    expected = -0.2 + 0.01 * source
    torch.testing.assert_close(view[0], expected.expand(H, -1), rtol=0,
                               atol=1e-9)


def test_opaque_front_plane_hides_everything_behind():
    back, middle = textured_plane(0), textured_plane(1)
    front = torch.zeros(4, H, W, dtype=torch.float64)
    front[1] = 0.7  # green-ish, fully opaque over columns 10..29
    front[3, :, 10:30] = 1
    depths = torch.tensor([50.0, 10.0, 2.0])
    mpi = mpi_of(back, middle, front)
    k = camera_intrinsics(H, W, 0.5, 0.5, torch.float64)
    for tx in (0.0, 0.2):  # 0.5 * 40 * 0.2 / 2 = 2 px shift of the front
        view = render_mpi(mpi, pose_matrix((tx, 0, 0), dtype=torch.float64),
                          depths, k)[0]
        shift = int(round(0.5 * W * tx / 2.0))
        covered = slice(10 + shift, 30 + shift)
        torch.testing.assert_close(
            view[:, :, covered],
            front[:3, :, 10:30], rtol=0, atol=1e-9)
        # uncovered: the middle plane (opaque) hides the back one
        assert not torch.allclose(view[:, :, 0:5], back[:3, :, 0:5])


def test_pure_rotation_warps_the_composite():
    """With R only, every plane moves by the same homography K R^T K^-1:
    rendering = warping the identity composite (exactly, where the planes'
    alphas are uniform: compositing is then linear in the colours)."""
    gen = torch.Generator().manual_seed(3)
    mpi = torch.rand(1, 4, 4, H, W, generator=gen, dtype=torch.float64)
    mpi[:, :, 3] = torch.tensor([1.0, 0.3, 0.6, 0.2],
                                dtype=torch.float64)[:, None, None]
    k = camera_intrinsics(H, W, 0.5, 0.5, torch.float64)
    pose = pose_matrix((0, 0, 0), (2.0, -3.0, 4.0), dtype=torch.float64)
    view = render_mpi(mpi, pose, plane_depths(4).double(), k)
    hom = k @ pose[:3, :3].T @ torch.linalg.inv(k)
    ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float64),
                            torch.arange(W, dtype=torch.float64),
                            indexing='ij')
    pix = torch.stack([xs, ys, torch.ones_like(xs)], -1) @ hom.T
    uv = pix[..., :2] / pix[..., 2:]
    grid = torch.stack([uv[..., 0] / (W - 1) * 2 - 1,
                        uv[..., 1] / (H - 1) * 2 - 1], -1)[None]
    composite = over_composite(mpi)
    # a rotation leaves the in-image region: compare where all planes were
    # sampled inside the image
    inside = ((uv[..., 0] >= 0) & (uv[..., 0] <= W - 1) & (uv[..., 1] >= 0)
              & (uv[..., 1] <= H - 1))
    expected = F.grid_sample(composite, grid, align_corners=True)
    torch.testing.assert_close(view[0][:, inside], expected[0][:, inside],
                               rtol=0, atol=1e-9)


def test_official_sampling_resamples_by_w_over_w_minus_1():
    """The official code normalises by W - 1 but samples with
    align_corners=False: pixel u sees u * W / (W - 1) - 0.5."""
    view = render_mpi(mpi_of(ramp_plane()), torch.eye(4, dtype=torch.float64),
                      torch.tensor([5.0]),
                      camera_intrinsics(H, W, 0.5, 0.5, torch.float64),
                      sampling='official')[0]
    u = torch.arange(1, W - 1, dtype=torch.float64)
    expected = -0.2 + 0.01 * (u * W / (W - 1) - 0.5)
    # (the first and last rows and columns blend with the zero padding)
    torch.testing.assert_close(view[0][1:-1, 1:-1],
                               expected.expand(H - 2, -1), rtol=0, atol=1e-9)
    assert view[0, 0, 5] == pytest.approx(0.5 * (-0.2 + 0.01 * (
        5 * W / (W - 1) - 0.5)))


def test_batched_poses_equal_separate_renders_and_gradients_flow():
    gen = torch.Generator().manual_seed(4)
    mpi = torch.rand(2, 5, 4, H, W, generator=gen).requires_grad_(True)
    renderer = MPIRenderer(num_planes=5, fx=0.6, fy=0.7)
    poses = torch.stack([pose_matrix((0.1, 0, 0.05), (1, 2, 0)),
                         pose_matrix((-0.2, 0.1, 0), (0, -3, 1))])
    both = renderer(mpi, poses)
    for i in range(2):
        torch.testing.assert_close(both[i], renderer(mpi[i:i + 1],
                                                     poses[i])[0])
    both.square().sum().backward()
    assert mpi.grad is not None and mpi.grad.abs().sum() > 0


def test_random_poses_range_and_seed():
    renderer = MPIRenderer(num_planes=4)
    a = renderer.random_poses(64, 0.5, 8, torch.Generator().manual_seed(0))
    b = renderer.random_poses(64, 0.5, 8, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    assert a[:, :3, 3].abs().max() <= 0.5
    angle = torch.acos(((a[:, 0, 0] + a[:, 1, 1] + a[:, 2, 2]) - 1) / 2)
    assert math.degrees(angle.max()) <= 8 * math.sqrt(3) + 1e-3
    eye = a[:, :3, :3] @ a[:, :3, :3].transpose(1, 2)
    torch.testing.assert_close(eye, torch.eye(3).expand_as(eye), rtol=0,
                               atol=1e-6)


def test_pose_checks_are_one_line():
    check_pose((0.1, 0, 0), (0, 0, 0), 0.5, 8, 1.0)
    with pytest.raises(ValueError, match='translation x=0.6 is outside'):
        check_pose((0.6, 0, 0), (0, 0, 0), 0.5, 8, 1.0)
    with pytest.raises(ValueError, match='rotation about y of 9'):
        check_pose((0, 0, 0), (0, 9, 0), 0.5, 8, 1.0)
    with pytest.raises(ValueError, match='past the nearest'):
        check_pose((0, 0, -1.5), (0, 0, 0), 2.0, 8, 1.0)


def test_bad_arguments():
    with pytest.raises(ValueError, match='sampling must be one of'):
        MPIRenderer(sampling='nearest')
    with pytest.raises(ValueError, match=r'\(N, P, 4, H, W\)'):
        render_mpi(torch.rand(1, 3, H, W), torch.eye(4), plane_depths(3),
                   camera_intrinsics(H, W))
    with pytest.raises(ValueError, match='built for 4 planes'):
        MPIRenderer(num_planes=4)(torch.rand(1, 3, 4, H, W), torch.eye(4))
