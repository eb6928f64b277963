# Copyright (c) invtoolbox contributors. All rights reserved.
"""Transforms for samples of K images (the IICNet tasks).

A multi-image sample carries ``results['img_paths']`` (K files, natural
order: frames in time order, ``[left, right]``, ``[cover, secret1, ...]``)
and, once loaded, ``results['imgs']``: a list of K RGB ``(H, W, 3)`` uint8
numpy images. Crops apply one window to all K images (they are views of one
scene) unless told otherwise; :class:`PackImages` stacks them into the
``(K, 3, H, W)`` uint8 tensor that the data preprocessor batches into
``(N, K, 3, H, W)`` floats in [0, 1].
"""
from __future__ import annotations

import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from ...errors import DataError
from ...registry import TRANSFORMS
from ...structures import DataSample
from ...utils.image import modcrop
from ...utils.imresize import imresize
from .loading import LoadImageFromFile
from .utils import check_positive_int

__all__ = [
    'LoadImages', 'RandomCropImages', 'CenterCropImages', 'ModCropImages',
    'ResizeImages', 'GenerateDualView', 'PackImages'
]

SizeType = Union[int, Sequence[int]]


def _pair(size: SizeType, name: str, owner: str) -> Tuple[int, int]:
    """``144`` or ``(144, 144)`` -> ``(h, w)`` positive ints."""
    if isinstance(size, (list, tuple)):
        if len(size) != 2:
            raise DataError(
                f'{owner}: {name} must be an int or (height, width), got '
                f'{size!r}')
        return (check_positive_int(size[0], name, owner),
                check_positive_int(size[1], name, owner))
    value = check_positive_int(size, name, owner)
    return value, value


def _sample_name(results: dict) -> str:
    """How error messages name the sample: its key, else its first file."""
    if results.get('key') is not None:
        return f'sample {results["key"]!r}'
    paths = results.get('img_paths')
    if paths:
        return f'the sample of {str(paths[0])!r}'
    return 'the sample'


def _image_name(results: dict, index: int) -> str:
    """A file name (or position) of image ``index`` for error messages."""
    paths = results.get('img_paths') or ()
    if index < len(paths):
        return repr(str(paths[index]))
    return f'image {index}'


def _get_images(results: dict, owner: str) -> List[np.ndarray]:
    """``results['imgs']`` checked to be a non-empty list of HWC images."""
    imgs = results.get('imgs')
    if imgs is None:
        raise DataError(
            f"{owner}: no 'imgs' in the results (keys: "
            f'{", ".join(sorted(map(str, results)))}); put LoadImages first')
    if not isinstance(imgs, (list, tuple)) or not imgs:
        raise DataError(
            f"{owner}: results['imgs'] must be a non-empty list of (H, W, C) "
            f'images, got {type(imgs).__name__}')
    for i, img in enumerate(imgs):
        if not isinstance(img, np.ndarray) or img.ndim != 3:
            raise DataError(
                f"{owner}: results['imgs'][{i}] must be an (H, W, C) numpy "
                f'image, got {type(img).__name__} of shape '
                f'{getattr(img, "shape", None)}')
    return list(imgs)


def _describe_sizes(results: dict, imgs: Sequence[np.ndarray]) -> str:
    return ', '.join(f'{_image_name(results, i)} is '
                     f'{img.shape[0]}x{img.shape[1]}'
                     for i, img in enumerate(imgs))


def _check_same_size(results: dict, imgs: Sequence[np.ndarray], owner: str,
                     fix: str) -> Tuple[int, int]:
    """The common ``(H, W)`` of ``imgs``; a one-line ValueError otherwise."""
    sizes = {img.shape[:2] for img in imgs}
    if len(sizes) > 1:
        raise DataError(
            f'{owner}: the {len(imgs)} images of {_sample_name(results)} '
            f'differ in size ({_describe_sizes(results, imgs)}, HxW); {fix}')
    return imgs[0].shape[:2]


def _check_fits(results: dict,
                imgs: Sequence[np.ndarray],
                size: Tuple[int, int],
                owner: str,
                what: str = 'crop',
                fix: str = 'lower crop_size') -> None:
    """Every image is at least ``size``; a one-line ValueError otherwise."""
    small = [i for i, img in enumerate(imgs)
             if img.shape[0] < size[0] or img.shape[1] < size[1]]
    if small:
        i = small[0]
        raise DataError(
            f'{owner}: {_image_name(results, i)} of {_sample_name(results)} '
            f'is {imgs[i].shape[0]}x{imgs[i].shape[1]} (HxW), smaller than '
            f'the {size[0]}x{size[1]} {what}; remove small images from the '
            f'dataset or {fix}')


@TRANSFORMS.register_module()
class LoadImages(BaseTransform):
    """Read the K files of ``results['img_paths']`` into ``results['imgs']``.

    Each image is read as :class:`LoadImageFromFile` reads one (through
    :func:`invtoolbox.utils.read_image`): RGB ``(H, W, 3)`` uint8, EXIF
    orientation applied, grey files repeated to 3 channels, alpha
    composited on ``background`` (white) unless ``alpha`` says otherwise,
    any mmengine file backend.

    The K images of a sample must have the same size: frames of a clip,
    the views of a stereo pair and parallel layers always do, and a
    mismatch means a broken dataset. ``size_mismatch`` changes that:

    - ``'error'`` (default): a one-line ValueError naming the files and
      their sizes;
    - ``'crop'``: crop all images to their common top-left region (the
      official Flickr1024 loader's behaviour);
    - ``'keep'``: keep the sizes (images of unrelated sizes, as the covers
      and secrets of image hiding, cropped to one size later with
      ``same_window=False`` crops).

    Added keys: ``imgs`` (list of K images), ``ori_shapes`` (list of K
    ``(H, W)`` as read), ``ori_shape`` (the first image's).

    Args:
        size_mismatch (str): ``'error'``, ``'crop'`` or ``'keep'``. Default:
            ``'error'``.
        imdecode_backend (str): ``'cv2'`` or ``'pillow'``. Default: ``'cv2'``.
        backend_args (dict, optional): mmengine file-backend arguments.
        alpha (str): ``'composite'`` (default), ``'refuse'`` or ``'drop'``:
            see :class:`LoadImageFromFile`.
        background (tuple): RGB 0..255 background of ``'composite'``.
            Default: ``(255, 255, 255)``.

    Raises:
        ValueError: no ``img_paths`` in the results, a file cannot be
            decoded, or (``'error'``) the sizes differ.
        FileNotFoundError: a file does not exist.
    """

    def __init__(self,
                 size_mismatch: str = 'error',
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None,
                 alpha: str = 'composite',
                 background: Sequence[int] = (255, 255, 255)) -> None:
        if size_mismatch not in ('error', 'crop', 'keep'):
            raise DataError(
                f"LoadImages: size_mismatch must be 'error', 'crop' or "
                f"'keep', got {size_mismatch!r}")
        self.size_mismatch = size_mismatch
        self.loader = LoadImageFromFile(
            key='img', imdecode_backend=imdecode_backend,
            backend_args=backend_args, alpha=alpha, background=background)

    def transform(self, results: dict) -> dict:
        """Read the images.

        Args:
            results (dict): holds ``img_paths`` (list of K paths).

        Returns:
            dict: ``results`` with ``imgs``, ``ori_shapes`` and
            ``ori_shape``.
        """
        paths = results.get('img_paths')
        if not isinstance(paths, (list, tuple)) or not paths:
            raise DataError(
                f"LoadImages: results['img_paths'] must be a non-empty list "
                f'of image files, got {paths!r}; use a multi-image dataset '
                f'(VideoClipDataset, StereoPairDataset, MultiFolderDataset, '
                f'ImageGroupDataset) or LoadImageFromFile for one image')
        imgs = []
        for path in paths:
            path = str(path)
            imgs.append(self.loader.read(path))
        results['ori_shapes'] = [tuple(img.shape[:2]) for img in imgs]
        results['ori_shape'] = results['ori_shapes'][0]
        if self.size_mismatch == 'error':
            _check_same_size(
                results, imgs, 'LoadImages',
                'all images of a sample must have the same size (fix the '
                "dataset, or set LoadImages(size_mismatch='crop') to crop "
                'them to their common top-left region)')
        elif self.size_mismatch == 'crop':
            h = min(img.shape[0] for img in imgs)
            w = min(img.shape[1] for img in imgs)
            imgs = [img[:h, :w] for img in imgs]
        results['imgs'] = imgs
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(size_mismatch={self.size_mismatch!r},'
                f' imdecode_backend={self.loader.imdecode_backend!r}, '
                f'alpha={self.loader.alpha!r})')


@TRANSFORMS.register_module()
class RandomCropImages(BaseTransform):
    """Crop a random ``crop_size`` window, the same for all K images.

    The official IICNet training crop (144 x 144, no flips). The window is
    drawn uniformly with numpy's global generator (seeded per dataloader
    worker by mmengine). With ``same_window=False`` each image gets its own
    window (images of unrelated content and sizes: cover and secrets of
    image hiding). Sets ``results['crop_boxes']`` (one ``(top, left,
    height, width)`` per image).

    Args:
        crop_size (int | tuple[int, int]): ``size`` or ``(height, width)``.
        same_window (bool): one window for all images. Default: True.

    Raises:
        ValueError: an image is smaller than the crop, or (``same_window``)
            the images differ in size.
    """

    def __init__(self, crop_size: SizeType, same_window: bool = True) -> None:
        self.crop_size = _pair(crop_size, 'crop_size', 'RandomCropImages')
        self.same_window = bool(same_window)

    @staticmethod
    def _offset(length: int, patch: int) -> int:
        return int(np.random.randint(0, length - patch + 1))

    def transform(self, results: dict) -> dict:
        """Crop every image (views, no copy)."""
        imgs = _get_images(results, 'RandomCropImages')
        _check_fits(results, imgs, self.crop_size, 'RandomCropImages')
        h, w = self.crop_size
        if self.same_window:
            height, width = _check_same_size(
                results, imgs, 'RandomCropImages',
                'crop images of different sizes with same_window=False')
            top, left = self._offset(height, h), self._offset(width, w)
            boxes = [(top, left, h, w)] * len(imgs)
        else:
            boxes = [(self._offset(img.shape[0], h),
                      self._offset(img.shape[1], w), h, w) for img in imgs]
        results['imgs'] = [
            img[t:t + h, lft:lft + w] for img, (t, lft, _, _) in zip(
                imgs, boxes)
        ]
        results['crop_boxes'] = boxes
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(crop_size={self.crop_size}, '
                f'same_window={self.same_window})')


@TRANSFORMS.register_module()
class CenterCropImages(BaseTransform):
    """Crop the centre ``crop_size`` region of every image.

    The window of each image starts at ``((H - h) // 2, (W - w) // 2)``, as
    the official IICNet test crops do (images of one size share it). Sets
    ``results['crop_boxes']``.

    Args:
        crop_size (int | tuple[int, int]): ``size`` or ``(height, width)``.

    Raises:
        ValueError: an image is smaller than the crop.
    """

    def __init__(self, crop_size: SizeType) -> None:
        self.crop_size = _pair(crop_size, 'crop_size', 'CenterCropImages')

    def transform(self, results: dict) -> dict:
        """Crop every image (views, no copy)."""
        imgs = _get_images(results, 'CenterCropImages')
        _check_fits(results, imgs, self.crop_size, 'CenterCropImages')
        h, w = self.crop_size
        boxes = [((img.shape[0] - h) // 2, (img.shape[1] - w) // 2, h, w)
                 for img in imgs]
        results['imgs'] = [
            img[t:t + h, lft:lft + w] for img, (t, lft, _, _) in zip(
                imgs, boxes)
        ]
        results['crop_boxes'] = boxes
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(crop_size={self.crop_size})'


@TRANSFORMS.register_module()
class ModCropImages(BaseTransform):
    """Crop the bottom / right of every image to multiples of ``scale``.

    For full-frame evaluation of the x2 tasks (spatio-temporal video
    embedding, rescaling), as the official test loader does. Sets
    ``results['scale']``.

    Args:
        scale (int): the factor height and width must be multiples of.

    Raises:
        ValueError: an image is smaller than ``scale``.
    """

    def __init__(self, scale: int) -> None:
        self.scale = check_positive_int(scale, 'scale', 'ModCropImages')

    def transform(self, results: dict) -> dict:
        """Crop every image (views, no copy)."""
        imgs = _get_images(results, 'ModCropImages')
        _check_fits(results, imgs, (self.scale, self.scale), 'ModCropImages',
                    'scale', 'lower scale')
        results['imgs'] = [modcrop(img, self.scale) for img in imgs]
        results['scale'] = self.scale
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(scale={self.scale})'


@TRANSFORMS.register_module()
class ResizeImages(BaseTransform):
    """Resize every image with OpenCV's bilinear interpolation.

    Either to a fixed ``size`` (the official composition task resizes
    whole training images to 256 x 256) or by an integer ``downsample``
    factor to ``(H // downsample, W // downsample)`` (its test images are
    halved), computed as the official code does: ``cv2.resize(...,
    interpolation=cv2.INTER_LINEAR)`` on the uint8 images (the result stays
    uint8).

    Args:
        size (int | tuple[int, int], optional): ``size`` or
            ``(height, width)``.
        downsample (int, optional): the reduction factor (give ``size`` or
            ``downsample``, not both).
        interpolation (str): ``'bilinear'`` (``INTER_LINEAR``), ``'area'``
            (``INTER_AREA``), ``'bicubic'`` (``INTER_CUBIC``) or
            ``'nearest'``. Default: ``'bilinear'``.

    Raises:
        ValueError: an image is smaller than ``downsample``.
    """

    _INTERPOLATIONS = dict(
        bilinear=cv2.INTER_LINEAR,
        area=cv2.INTER_AREA,
        bicubic=cv2.INTER_CUBIC,
        nearest=cv2.INTER_NEAREST)

    def __init__(self,
                 size: Optional[SizeType] = None,
                 downsample: Optional[int] = None,
                 interpolation: str = 'bilinear') -> None:
        if (size is None) == (downsample is None):
            raise DataError(
                f'ResizeImages: give either size (e.g. 256) or downsample '
                f'(e.g. 2), got size={size!r}, downsample={downsample!r}')
        self.size = None if size is None else _pair(size, 'size',
                                                    'ResizeImages')
        self.downsample = None if downsample is None else check_positive_int(
            downsample, 'downsample', 'ResizeImages')
        if interpolation not in self._INTERPOLATIONS:
            raise DataError(
                f'ResizeImages: interpolation must be one of '
                f'{sorted(self._INTERPOLATIONS)}, got {interpolation!r}')
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        """Resize every image."""
        imgs = _get_images(results, 'ResizeImages')
        if self.downsample is not None:
            _check_fits(results, imgs, (self.downsample, self.downsample),
                        'ResizeImages', 'downsample factor',
                        'lower downsample')
        flag = self._INTERPOLATIONS[self.interpolation]
        resized = []
        for img in imgs:
            h, w = self.size if self.size is not None else (
                img.shape[0] // self.downsample,
                img.shape[1] // self.downsample)
            out = cv2.resize(img, (w, h), interpolation=flag)
            resized.append(out[:, :, None] if out.ndim == 2 else out)
        results['imgs'] = resized
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(size={self.size}, '
                f'downsample={self.downsample}, '
                f'interpolation={self.interpolation!r})')


@TRANSFORMS.register_module()
class GenerateDualView(BaseTransform):
    """Make the dual-view pair ``[LR full view, HR centre crop]`` from one
    HR image.

    ``LR = imresize(HR, 1 / view_scale)`` (MATLAB bicubic, rounded to uint8
    like DIV2K's ``LR_bicubic/X{s}`` files the official code reads); the HR
    image is first mod-cropped to a multiple of ``view_scale``. Then, as
    the official ``Div2kDualDataset``:

    - training (``crop_size`` set): a random ``crop_size`` LR window at
      ``(top, left)``; the HR region it covers (``crop_size * view_scale``
      at ``(top * view_scale, left * view_scale)``), centre-cropped to
      ``crop_size``;
    - test (``crop_size=None``): the full LR view and the HR image's centre
      crop of the LR's size.

    ``results['imgs']`` must hold exactly one image (the HR); it becomes the
    pair. Sets ``results['view_scale']``.

    Args:
        view_scale (int): the zoom between the views (2, 4, 8).
        crop_size (int, optional): the training patch; ``None`` for test.

    Raises:
        ValueError: not exactly one image, or the LR view is smaller than
            ``crop_size``.
    """

    def __init__(self, view_scale: int, crop_size: Optional[int] = None
                 ) -> None:
        self.view_scale = check_positive_int(view_scale, 'view_scale',
                                             'GenerateDualView')
        if self.view_scale < 2:
            raise DataError(
                f'GenerateDualView: view_scale must be >= 2, got {view_scale}')
        self.crop_size = None if crop_size is None else check_positive_int(
            crop_size, 'crop_size', 'GenerateDualView')

    @staticmethod
    def _centre(img: np.ndarray, h: int, w: int) -> np.ndarray:
        top = max(0, img.shape[0] - h) // 2
        left = max(0, img.shape[1] - w) // 2
        return img[top:top + h, left:left + w]

    def transform(self, results: dict) -> dict:
        """Replace the HR image by ``[LR view, HR crop]``."""
        imgs = _get_images(results, 'GenerateDualView')
        if len(imgs) != 1:
            raise DataError(
                f'GenerateDualView: expects the one HR image of a sample, got '
                f'{len(imgs)} images in {_sample_name(results)}; use a '
                f'single-image dataset (ImageFolderDataset with img_paths, or '
                f'ImageGroupDataset(group_size=1))')
        s = self.view_scale
        hr = modcrop(imgs[0], s)
        if hr.shape[0] < s or hr.shape[1] < s:
            raise DataError(
                f'GenerateDualView: {_image_name(results, 0)} is '
                f'{imgs[0].shape[0]}x{imgs[0].shape[1]}, smaller than '
                f'view_scale {s}; remove it from the dataset')
        lr = imresize(np.ascontiguousarray(hr), 1. / s)  # uint8 -> uint8
        if self.crop_size is not None:
            size = self.crop_size
            if lr.shape[0] < size or lr.shape[1] < size:
                raise DataError(
                    f'GenerateDualView: the x{s} LR view of '
                    f'{_image_name(results, 0)} is '
                    f'{lr.shape[0]}x{lr.shape[1]}, smaller than crop_size '
                    f'{size} (the official X8 lists drop such images); '
                    f'remove it from the dataset or lower crop_size')
            top = int(np.random.randint(0, lr.shape[0] - size + 1))
            left = int(np.random.randint(0, lr.shape[1] - size + 1))
            lr = lr[top:top + size, left:left + size]
            hr = hr[top * s:(top + size) * s, left * s:(left + size) * s]
        hr_crop = self._centre(hr, lr.shape[0], lr.shape[1])
        results['imgs'] = [np.ascontiguousarray(lr), hr_crop]
        results['view_scale'] = s
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(view_scale={self.view_scale}, '
                f'crop_size={self.crop_size})')


@TRANSFORMS.register_module()
class PackImages(BaseTransform):
    """Pack ``results['imgs']`` into ``{'inputs', 'data_samples'}``.

    - ``inputs``: the K images as one ``(K, 3, H, W)`` tensor, **uint8**
      (float32 in [0, 1] if any image is float), natural order, RGB; the
      ``DataPreprocessor`` stacks a batch into ``(N, K, 3, H, W)`` floats in
      [0, 1];
    - ``data_samples``: a :class:`~invtoolbox.structures.DataSample` whose
      metainfo holds the ``meta_keys`` present in the results, plus
      ``img_path`` (the first file; what single-image tools name a sample
      by) when ``img_paths`` is present.

    Args:
        meta_keys (Sequence[str]): results keys copied to the metainfo.
            Default: ``('key', 'img_paths', 'ori_shape', 'ori_shapes',
            'sample_idx', 'clip_folder', 'frame_indices', 'crop_boxes',
            'view_scale', 'scale')``.

    Raises:
        ValueError: the images differ in size or are not 3-channel.
    """

    def __init__(self,
                 meta_keys: Sequence[str] = ('key', 'img_paths', 'ori_shape',
                                             'ori_shapes', 'sample_idx',
                                             'clip_folder', 'frame_indices',
                                             'crop_boxes', 'view_scale',
                                             'scale')) -> None:
        self.meta_keys = (meta_keys, ) if isinstance(meta_keys,
                                                     str) else tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Pack.

        Returns:
            dict: ``{'inputs': (K, 3, H, W) tensor, 'data_samples':
            DataSample}``.
        """
        imgs = _get_images(results, 'PackImages')
        _check_same_size(
            results, imgs, 'PackImages',
            'crop or resize them to one size before PackImages '
            '(RandomCropImages / CenterCropImages / ResizeImages)')
        channels = {img.shape[2] for img in imgs}
        if channels != {3}:
            raise DataError(
                f'PackImages: the images of {_sample_name(results)} must be '
                f'RGB (H, W, 3), got channels {sorted(channels)}; load them '
                f'with LoadImages')
        if all(img.dtype == np.uint8 for img in imgs):
            stacked = np.stack(imgs)
        else:
            for i, img in enumerate(imgs):
                if img.dtype != np.uint8 and not np.issubdtype(
                        img.dtype, np.floating):
                    raise DataError(
                        f'PackImages: {_image_name(results, i)} has dtype '
                        f'{img.dtype}; expected uint8 or float in [0, 1]')
            stacked = np.stack([
                img.astype(np.float32) /
                np.float32(255.) if img.dtype == np.uint8 else img.astype(
                    np.float32) for img in imgs
            ])
        inputs = torch.from_numpy(
            np.ascontiguousarray(stacked.transpose(0, 3, 1, 2)))
        meta = {k: results[k] for k in self.meta_keys if k in results}
        if results.get('img_paths'):
            meta['img_path'] = str(results['img_paths'][0])
            if 'key' not in meta:
                meta['key'] = osp.splitext(osp.basename(meta['img_path']))[0]
        return dict(inputs=inputs, data_samples=DataSample(metainfo=meta))

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys!r})'
