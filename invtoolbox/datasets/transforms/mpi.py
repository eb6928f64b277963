# Copyright (c) invtoolbox contributors. All rights reserved.
"""Transforms for multiplane images (MPIs; novel-view embedding).

An MPI sample carries ``results['frame_path']`` (a frame folder of the
official layout, see :mod:`invtoolbox.datasets.mpi_dataset`) and, once
loaded, ``results['ref']``, the reference view as uint8 ``(H, W, 3)`` RGB,
and ``results['mpi']``, the planes as uint8 ``(P, H, W, 4)`` (RGB then
alpha, plane 0 the farthest). :class:`PackMPIInputs` turns them into the
model input ``(3, H, W)`` and the data-sample field ``gt_mpi``
``(P, 4, H, W)``, floats in [0, 1].
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from ...errors import DataError
from ...registry import TRANSFORMS
from ...structures import DataSample
from ..mpi_dataset import find_mpi_planes, read_mpi_files
from .utils import check_positive_int, check_ratio

__all__ = ['LoadMPIFromFolder', 'MPIResizeCrop', 'MPIFlip', 'PackMPIInputs']


def _sample_name(results: dict) -> str:
    if results.get('key') is not None:
        return f'sample {results["key"]!r}'
    if results.get('frame_path'):
        return f'the sample of {str(results["frame_path"])!r}'
    return 'the sample'


def _get_mpi(results: dict, owner: str) -> Tuple[np.ndarray, np.ndarray]:
    """``results['ref']`` and ``results['mpi']``, checked to fit."""
    missing = [k for k in ('ref', 'mpi') if k not in results]
    if missing:
        raise DataError(
            f'{owner}: no {missing[0]!r} in the results (keys: '
            f'{", ".join(sorted(map(str, results)))}); put '
            'LoadMPIFromFolder first')
    ref, mpi = results['ref'], results['mpi']
    if not (isinstance(ref, np.ndarray) and ref.ndim == 3
            and ref.shape[2] == 3):
        raise DataError(
            f"{owner}: results['ref'] of {_sample_name(results)} must be an "
            f'(H, W, 3) numpy image, got {type(ref).__name__} of shape '
            f'{getattr(ref, "shape", None)}')
    if not (isinstance(mpi, np.ndarray) and mpi.ndim == 4
            and mpi.shape[3] == 4 and mpi.shape[1:3] == ref.shape[:2]):
        raise DataError(
            f"{owner}: results['mpi'] of {_sample_name(results)} must be a "
            f'(P, H, W, 4) numpy array with the reference size '
            f'{ref.shape[:2]}, got {type(mpi).__name__} of shape '
            f'{getattr(mpi, "shape", None)}')
    return ref, mpi


@TRANSFORMS.register_module()
class LoadMPIFromFolder(BaseTransform):
    """Read the MPI of ``results['frame_path']``.

    The files are found by
    :func:`~invtoolbox.datasets.mpi_dataset.find_mpi_planes` and read by
    :func:`~invtoolbox.datasets.mpi_dataset.read_mpi_files` (reference and
    plane RGB as RGB, alpha as one grey channel, all 8-bit and of one size).

    Added keys: ``ref`` (uint8 ``(H, W, 3)``), ``mpi`` (uint8
    ``(P, H, W, 4)``), ``ori_shape`` (``(H, W)`` as read), ``num_planes``
    and ``img_path`` (the reference file) when absent.

    Args:
        num_planes (int, optional): the plane count required. Default: None
            (``results['num_planes']``, set by ``MPIFolderDataset``, else
            any).

    Raises:
        DataError: no ``frame_path`` in the results; the frame is not a
            complete MPI or a file cannot be read, or has another size
            (``MPIFolderError``, naming the file).
        FileNotFoundError: the folder or a file is missing.
    """

    def __init__(self, num_planes: Optional[int] = None) -> None:
        self.num_planes = None if num_planes is None else check_positive_int(
            num_planes, 'num_planes', 'LoadMPIFromFolder')

    def transform(self, results: dict) -> dict:
        """Read ``ref`` and ``mpi``."""
        folder = results.get('frame_path')
        if not folder:
            raise DataError(
                "LoadMPIFromFolder: no 'frame_path' in the results (keys: "
                f'{", ".join(sorted(map(str, results)))}); use it with '
                'MPIFolderDataset or set frame_path')
        num_planes = self.num_planes if self.num_planes is not None else \
            results.get('num_planes')
        ref_path, rgb_paths, alpha_paths = find_mpi_planes(
            str(folder), num_planes)
        ref, mpi = read_mpi_files(ref_path, rgb_paths, alpha_paths)
        results['ref'], results['mpi'] = ref, mpi
        results['ori_shape'] = ref.shape[:2]
        results['num_planes'] = mpi.shape[0]
        results.setdefault('img_path', ref_path)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(num_planes={self.num_planes})'


@TRANSFORMS.register_module()
class MPIResizeCrop(BaseTransform):
    """The official random resize-then-crop of the reference and planes.

    As ``data/real_dataset.py`` of the official code, with ``size = (h,
    w)`` and ``r = max_resize_ratio``::

        rw = int(U(1, 1 + r) * w);  rh = int(U(1, 1 + r) * h)
        x = randint(rw - w) if rw > w else 0    # numpy: high exclusive
        y = randint(rh - h) if rh > h else 0
        every image = cv2.resize(image, (rw, rh))[y:y + h, x:x + w]

    (bilinear, ``cv2.INTER_LINEAR``, on the uint8 images; the reference,
    each plane's RGB and each alpha get the same window). The four numbers
    are drawn from numpy's global generator in this order, as the official
    code does (mmengine seeds it per dataloader worker), so a seeded run
    gives the official crops. ``max_resize_ratio=0`` is the official test
    path: the images are resized to exactly ``size``.

    The official loader drops a sample whose reference is smaller than
    ``(h * (1 + r), w * (1 + r))`` (it would be enlarged); ``small_source``
    chooses: ``'resize'`` (default: resize it anyway), ``'skip'`` (the
    official behaviour: return None, which makes mmengine's dataset draw
    another sample in training and raise in test mode) or ``'error'``.

    Sets ``results['resized_shape']`` (``(rh, rw)``) and
    ``results['crop_box']`` (``(top, left, h, w)``).

    Args:
        size (int | tuple[int, int]): ``(h, w)`` of the output (official
            training: 256 x 256; test: 288 x 512).
        max_resize_ratio (float): ``r`` above, in [0, 1]. Default: 0.2.
        small_source (str): ``'resize'``, ``'skip'`` or ``'error'``.

    Raises:
        DataError: (``small_source='error'``) the reference is too small,
            naming the sample, its size and the size needed.
    """

    def __init__(self,
                 size,
                 max_resize_ratio: float = 0.2,
                 small_source: str = 'resize') -> None:
        owner = 'MPIResizeCrop'
        if isinstance(size, (list, tuple)):
            if len(size) != 2:
                raise DataError(f'{owner}: size must be an int or (height, '
                                f'width), got {size!r}')
            self.size = (check_positive_int(size[0], 'size', owner),
                         check_positive_int(size[1], 'size', owner))
        else:
            side = check_positive_int(size, 'size', owner)
            self.size = (side, side)
        self.max_resize_ratio = check_ratio(max_resize_ratio,
                                            'max_resize_ratio', owner)
        if small_source not in ('resize', 'skip', 'error'):
            raise DataError(
                f"{owner}: small_source must be 'resize', 'skip' or 'error', "
                f'got {small_source!r}')
        self.small_source = small_source

    def transform(self, results: dict) -> Optional[dict]:
        """Resize and crop ``ref`` and ``mpi`` (None: a skipped sample)."""
        ref, mpi = _get_mpi(results, 'MPIResizeCrop')
        h, w = self.size
        ratio = self.max_resize_ratio
        height, width = ref.shape[:2]
        if width < w * (1 + ratio) or height < h * (1 + ratio):
            if self.small_source == 'skip':
                return None
            if self.small_source == 'error':
                raise DataError(
                    f'MPIResizeCrop: {_sample_name(results)} is '
                    f'{height}x{width} (HxW), smaller than the '
                    f'{h * (1 + ratio):g}x{w * (1 + ratio):g} that a '
                    f'{h}x{w} crop after a resize by up to 1+{ratio:g} '
                    "needs; use small_source='resize' or 'skip', or a "
                    'smaller size')
        resized_w = int(np.random.uniform(1.0, 1.0 + ratio) * w)
        resized_h = int(np.random.uniform(1.0, 1.0 + ratio) * h)
        left = np.random.randint(resized_w - w) if resized_w > w else 0
        top = np.random.randint(resized_h - h) if resized_h > h else 0

        def resize_crop(img: np.ndarray) -> np.ndarray:
            out = cv2.resize(img, (resized_w, resized_h))
            return out[top:top + h, left:left + w]

        results['ref'] = np.ascontiguousarray(resize_crop(ref))
        results['mpi'] = np.stack([resize_crop(plane) for plane in mpi])
        results['resized_shape'] = (resized_h, resized_w)
        results['crop_box'] = (int(top), int(left), h, w)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(size={self.size}, '
                f'max_resize_ratio={self.max_resize_ratio}, '
                f'small_source={self.small_source!r})')


@TRANSFORMS.register_module()
class MPIFlip(BaseTransform):
    """Mirror the reference and every plane left-right, with probability
    ``flip_ratio`` (one draw from numpy's global generator per sample).

    A mirrored MPI is the MPI of the mirrored scene, so the pair stays
    consistent. Not part of the official recipe (which does not flip).
    Sets ``results['flip_horizontal']`` (bool).

    Args:
        flip_ratio (float): probability of flipping. Default: 0.5.
    """

    def __init__(self, flip_ratio: float = 0.5) -> None:
        self.flip_ratio = check_ratio(flip_ratio, 'flip_ratio', 'MPIFlip')

    def transform(self, results: dict) -> dict:
        """Flip (or not) ``ref`` and ``mpi`` together."""
        ref, mpi = _get_mpi(results, 'MPIFlip')
        flip = bool(np.random.rand() < self.flip_ratio)
        if flip:
            results['ref'] = np.ascontiguousarray(ref[:, ::-1])
            results['mpi'] = np.ascontiguousarray(mpi[:, :, ::-1])
        results['flip_horizontal'] = flip
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(flip_ratio={self.flip_ratio})'


def _to_tensor(array: np.ndarray, keep_uint8: bool) -> torch.Tensor:
    if array.dtype == np.uint8:
        if not keep_uint8:
            array = array.astype(np.float32) / np.float32(255.)
    elif np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32, copy=False)
    else:
        raise DataError(
            f'PackMPIInputs: MPI images must be uint8 or float in [0, 1], '
            f'got {array.dtype}')
    return torch.from_numpy(np.ascontiguousarray(array))


@TRANSFORMS.register_module()
class PackMPIInputs(BaseTransform):
    """Pack an MPI sample into ``{'inputs', 'data_samples'}``.

    - ``inputs``: the reference view, ``(3, H, W)`` float32 in [0, 1];
    - ``data_samples``: a :class:`~invtoolbox.structures.DataSample` with
      ``gt_mpi`` ``(P, 4, H, W)`` float32 in [0, 1] (RGB then alpha per
      plane, plane 0 the farthest) and the metainfo of ``meta_keys``
      present (``key`` ``'<video>/<frame>'``, ``img_path`` the reference
      file, ``ori_shape``, ``sample_idx``, ...).

    uint8 images are divided by 255 (float32, as ``PackInputs``); with
    ``keep_uint8=True`` both stay uint8 tensors (4x less data through the
    dataloader) and the sample's ``bit_depths`` metainfo records
    ``{'inputs': 8, 'gt_mpi': 8}``; the ``DataPreprocessor`` divides by 255
    either way. Its ``mean=0.5, std=0.5`` on the inputs and ``per_field``
    ``gt_mpi=dict(mean=(0.5, 0.5, 0.5, 0.0), std=(0.5, 0.5, 0.5, 1.0))``
    give the official ranges: RGB in [-1, 1], alpha in [0, 1].

    Args:
        check_multiple (int, optional): H and W must be multiples of this
            (the differentiable JPEG works on 16 x 16 macroblocks).
            Default: 16. None: no check.
        keep_uint8 (bool): see above. Default: False.
        meta_keys (Sequence[str]): results keys copied to the metainfo.

    Raises:
        DataError: ``ref`` / ``mpi`` missing or of mismatched shapes; H or
            W not a multiple of ``check_multiple`` (naming the sample and
            its size).
    """

    def __init__(self,
                 check_multiple: Optional[int] = 16,
                 keep_uint8: bool = False,
                 meta_keys: Sequence[str] = ('key', 'img_path', 'ori_shape',
                                             'sample_idx', 'frame_path',
                                             'video', 'frame',
                                             'resized_shape', 'crop_box',
                                             'flip_horizontal')) -> None:
        self.check_multiple = None if check_multiple is None else \
            check_positive_int(check_multiple, 'check_multiple',
                               'PackMPIInputs')
        self.keep_uint8 = bool(keep_uint8)
        self.meta_keys = (meta_keys, ) if isinstance(meta_keys,
                                                     str) else tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Pack.

        Returns:
            dict: ``{'inputs': (3, H, W) tensor, 'data_samples':
            DataSample}`` with ``gt_mpi`` ``(P, 4, H, W)``.
        """
        ref, mpi = _get_mpi(results, 'PackMPIInputs')
        height, width = ref.shape[:2]
        step = self.check_multiple
        if step is not None and (height % step or width % step):
            raise DataError(
                f'PackMPIInputs: {_sample_name(results)} is {height}x{width} '
                f'(HxW), not a multiple of {step} (the JPEG simulation works '
                f'on {step}x{step} blocks); crop or resize it in the '
                'pipeline, e.g. MPIResizeCrop(size=('
                f'{max(step, height - height % step)}, '
                f'{max(step, width - width % step)}), max_resize_ratio=0)')
        inputs = _to_tensor(ref.transpose(2, 0, 1), self.keep_uint8)
        gt_mpi = _to_tensor(mpi.transpose(0, 3, 1, 2), self.keep_uint8)
        meta = {k: results[k] for k in self.meta_keys if k in results}
        sample = DataSample(metainfo=meta)
        sample.set_data(dict(gt_mpi=gt_mpi))
        depths = {
            name: 8
            for name, tensor in (('inputs', inputs), ('gt_mpi', gt_mpi))
            if tensor.dtype == torch.uint8
        }
        if depths:
            sample.set_metainfo(dict(bit_depths=depths))
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(check_multiple='
                f'{self.check_multiple}, keep_uint8={self.keep_uint8}, '
                f'meta_keys={self.meta_keys!r})')
