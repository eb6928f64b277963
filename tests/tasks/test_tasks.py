# Copyright (c) invtoolbox contributors. All rights reserved.
"""The built-in reversible-image-conversion tasks and build_task."""
import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from invtoolbox import ShapeError
from invtoolbox.datasets.transforms import GenerateGreyReference
from invtoolbox.registry import TASKS
from invtoolbox.tasks import (BaseRICTask, BinocularMononizing,
                              CompositionDecomposition, DualViewEmbedding,
                              GrayscaleEmbedding, ImageHiding, ImageRescaling,
                              VideoEmbedding, build_task, rgb_to_grey)
from invtoolbox.utils import imresize

BUILT_IN = {
    'VideoEmbedding', 'BinocularMononizing', 'DualViewEmbedding',
    'CompositionDecomposition', 'ImageHiding', 'GrayscaleEmbedding',
    'ImageRescaling'
}


def images_8bit(n, k, h, w, seed=0):
    """Float images on the 8-bit grid, as the data preprocessor makes them."""
    rng = np.random.default_rng(seed)
    levels = rng.integers(0, 256, (n, k, 3, h, w), dtype=np.uint8)
    return torch.from_numpy(levels).float() / 255., levels


TASK_CFGS = [
    dict(type='VideoEmbedding'),
    dict(type='VideoEmbedding', num_frames=7),
    dict(type='VideoEmbedding', num_frames=3, scale=2),
    dict(type='BinocularMononizing'),
    dict(type='DualViewEmbedding', view_scale=4),
    dict(type='CompositionDecomposition'),
    dict(type='CompositionDecomposition', num_images=2),
    dict(type='ImageHiding', num_secrets=1),
    dict(type='ImageHiding', num_secrets=4),
    dict(type='GrayscaleEmbedding'),
    dict(type='ImageRescaling'),
]


def test_every_built_in_task_is_registered():
    TASKS.import_from_location()
    assert BUILT_IN <= set(TASKS.module_dict)


@pytest.mark.parametrize('cfg', TASK_CFGS, ids=lambda c: str(c))
@pytest.mark.parametrize('bgr', [True, False])
def test_pack_unpack_round_trip(cfg, bgr):
    task = build_task(cfg)
    assert isinstance(task, BaseRICTask)
    images, _ = images_8bit(2, task.num_images, 8, 12, seed=1)
    stacked = task.pack(images, bgr=bgr)
    assert stacked.shape == (2, 3 * task.num_images, 8, 12)
    # reference image first, as the official stacking
    ref = images[:, task.reference_index]
    assert torch.equal(stacked[:, :3], ref.flip(1) if bgr else ref)
    assert torch.equal(task.unpack(stacked, bgr=bgr), images)
    reference = task.reference(images)
    assert reference.shape == (2, task.out_channels, 8 // task.scale,
                               12 // task.scale)
    assert len(task.image_names) == task.num_images


def test_video_embedding_reference_is_the_middle_frame():
    task = VideoEmbedding()
    assert task.num_frames == 5 and task.reference_index == 2
    assert task.image_names == ('t0', 't1', 't2', 't3', 't4')
    assert task.order == [2, 0, 1, 3, 4]  # davis_annotation.py's stacking
    images, _ = images_8bit(2, 5, 6, 6)
    assert torch.equal(task.reference(images), images[:, 2])
    stacked = task.pack(images)
    for pos, frame in enumerate([2, 0, 1, 3, 4]):
        assert torch.equal(stacked[:, 3 * pos:3 * pos + 3],
                           images[:, frame].flip(1))
    seven = VideoEmbedding(num_frames=7)
    assert seven.reference_index == 3 and seven.order == [3, 0, 1, 2, 4, 5, 6]


def test_video_embedding_x2_reference_is_cv2_bilinear_on_8_bit():
    task = VideoEmbedding(num_frames=3, scale=2)
    images, levels = images_8bit(2, 3, 10, 14, seed=3)
    reference = task.reference(images)
    for i in range(2):
        bgr = levels[i, 1].transpose(1, 2, 0)[:, :, ::-1]
        expected = cv2.resize(
            np.ascontiguousarray(bgr), (7, 5), interpolation=cv2.INTER_LINEAR)
        expected = torch.from_numpy(
            expected[:, :, ::-1].transpose(2, 0, 1).copy()).float() / 255.
        assert torch.equal(reference[i], expected)
    float_task = VideoEmbedding(num_frames=3, scale=2, exact_8bit=False)
    smooth = float_task.reference(images)
    assert torch.allclose(
        smooth, F.interpolate(images[:, 1], scale_factor=0.5,
                              mode='bilinear', align_corners=False))
    assert (smooth - reference).abs().max() <= 0.5 / 255 + 1e-6


def test_binocular_dual_view_composition_hiding_references():
    images, _ = images_8bit(1, 2, 4, 4)
    for task in (BinocularMononizing(), DualViewEmbedding(8),
                 CompositionDecomposition(2), ImageHiding(1)):
        assert torch.equal(task.reference(images), images[:, 0])
        assert task.scale == 1 and task.out_channels == 3
    assert BinocularMononizing().image_names == ('left', 'right')
    dual = DualViewEmbedding(view_scale=8)
    assert dual.view_scale == 8 and dual.scale == 1
    assert dual.image_names == ('lr_view', 'hr_crop')
    assert CompositionDecomposition().image_names == (
        'composite', 'background', 'foreground')
    hiding = ImageHiding(num_secrets=3)
    assert hiding.num_images == 4
    assert hiding.image_names == ('cover', 'secret1', 'secret2', 'secret3')
    assert hiding.secret_names == ('secret1', 'secret2', 'secret3')
    assert ImageHiding(num_secrets=6).num_images == 7  # beyond the paper


@pytest.mark.parametrize('build, match', [
    (lambda: VideoEmbedding(num_frames=1), 'num_frames must be >= 2'),
    (lambda: VideoEmbedding(scale=4), 'scale must be 1 or 2'),
    (lambda: DualViewEmbedding(view_scale=3), 'view_scale must be 2, 4 or 8'),
    (lambda: CompositionDecomposition(num_images=4), 'must be 3'),
    (lambda: ImageHiding(num_secrets=0), 'num_secrets must be'),
    (lambda: ImageHiding(num_secrets=True), 'num_secrets must be'),
    (lambda: GrayscaleEmbedding(grey_formula='luma'), 'grey_formula must'),
    (lambda: ImageRescaling(scale=4), 'scale must be 2'),
])
def test_bad_arguments_are_one_line_value_errors(build, match):
    with pytest.raises(ValueError, match=match) as err:
        build()
    assert '\n' not in str(err.value)


def test_wrong_number_of_images_is_a_shape_error():
    task = BinocularMononizing()
    with pytest.raises(ShapeError, match='embeds 2 images per sample, got 3'):
        task.pack(torch.rand(1, 3, 3, 4, 4))


def opencv_grey(levels, weights, shift):
    """The OpenCV integer BGR2GRAY formula, written independently in numpy."""
    r, g, b = (levels[..., c, :, :].astype(np.int64) for c in range(3))
    w_r, w_g, w_b = weights
    return (r * w_r + g * w_g + b * w_b + (1 << (shift - 1))) >> shift


def test_grayscale_reference_is_opencv_bgr2gray():
    task = GrayscaleEmbedding()
    assert task.num_images == 1 and task.out_channels == 1
    images, levels = images_8bit(2, 1, 40, 50, seed=5)
    grey = task.reference(images)
    assert grey.shape == (2, 1, 40, 50)
    # OpenCV 4.x, the official environment: 14-bit weights
    expected4 = opencv_grey(levels[:, 0], (4899, 9617, 1868), 14)
    assert torch.equal(grey[:, 0], torch.from_numpy(expected4).float() / 255.)
    # against the installed OpenCV itself
    installed = np.stack([
        cv2.cvtColor(
            np.ascontiguousarray(levels[i, 0].transpose(1, 2, 0)[:, :, ::-1]),
            cv2.COLOR_BGR2GRAY) for i in range(2)
    ]).astype(np.float32) / 255.
    major = int(cv2.__version__.split('.')[0])
    formula = 'opencv4' if major <= 4 else 'opencv5'
    same = GrayscaleEmbedding(grey_formula=formula).reference(images)
    assert torch.equal(same[:, 0], torch.from_numpy(installed))
    # the two OpenCV generations differ by at most one grey level
    assert (grey[:, 0] - torch.from_numpy(installed)).abs().max() <= \
        1 / 255. + 1e-7


def test_grayscale_float_formula_is_generate_grey_reference():
    images = torch.rand(1, 1, 3, 5, 6)
    grey = GrayscaleEmbedding(grey_formula='float').reference(images)
    hwc = images[0, 0].permute(1, 2, 0).numpy()
    expected = GenerateGreyReference()(dict(gt=hwc))['lr'][:, :, 0]
    assert torch.allclose(grey[0, 0], torch.from_numpy(expected), atol=1e-6)
    with pytest.raises(ValueError, match=r'expected RGB images'):
        rgb_to_grey(torch.rand(1, 4, 5, 5))


def test_image_rescaling_reference_is_matlab_bicubic_lr():
    task = ImageRescaling()
    assert task.scale == 2 and task.num_images == 1
    images, levels = images_8bit(2, 1, 16, 12, seed=7)
    lr = task.reference(images)
    assert lr.shape == (2, 3, 8, 6)
    for i in range(2):
        hwc = levels[i, 0].transpose(1, 2, 0)
        lr_uint8 = imresize(hwc, 0.5)  # numpy MATLAB bicubic, 8-bit result
        expected = torch.from_numpy(lr_uint8.transpose(2, 0, 1).copy())
        assert torch.equal(torch.round(lr[i] * 255).to(torch.uint8), expected)
    raw = ImageRescaling(round_reference=False).reference(images)
    assert (raw - lr).abs().max() <= 0.5 / 255 + 1e-3  # + overshoot clamp


def test_build_task_unknown_name_lists_the_registered_tasks():
    with pytest.raises(ValueError) as err:
        build_task(dict(type='VideoEmbeding'))
    message = str(err.value)
    assert "'VideoEmbeding'" in message and '\n' not in message
    for name in BUILT_IN:
        assert name in message
    assert 'custom_imports' in message and 'invtoolbox.plugins' in message


def test_build_task_inputs():
    task = VideoEmbedding()
    assert build_task(task) is task
    built = build_task(dict(type='ImageHiding', num_secrets=2))
    assert isinstance(built, ImageHiding) and built.num_images == 3
    assert build_task(dict(type=BinocularMononizing)).num_images == 2
    with pytest.raises(ValueError, match="with a 'type'"):
        build_task(dict(num_frames=5))
    with pytest.raises(ValueError, match='not a BaseRICTask subclass'):
        build_task(dict(type=dict))


def test_build_task_finds_a_plugin_task():

    @TASKS.register_module(name='MeanOfThreeForTest')
    class MeanOfThree(BaseRICTask):
        num_images = 3

        def reference(self, images):
            return images.mean(dim=1)

    try:
        task = build_task(dict(type='MeanOfThreeForTest'))
        images = torch.rand(2, 3, 3, 4, 4)
        assert torch.allclose(task.reference(images), images.mean(1))
        assert torch.equal(task.unpack(task.pack(images)), images)
    finally:
        TASKS._module_dict.pop('MeanOfThreeForTest')
