# Copyright (c) invtoolbox contributors. All rights reserved.
"""Synthetic multiplane images (MPIs) made from photographs.

The real training data of novel-view embedding (RealEstate10K MPIs from
Stereo Magnification) is large and not redistributable; these scenes let the
quick start and the tests train and check the whole pipeline on the demo
photos. A scene is an opaque background photo on the farthest plane and a few
soft-edged cut-outs of photos on nearer planes, written in the official
folder layout (:mod:`invtoolbox.datasets.mpi_dataset`) and read back by the
same code as real data.
"""
from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
import shutil
from typing import (Callable, Dict, List, Optional, Sequence, Tuple, Union)

import cv2
import numpy as np

from ..registry import DATASETS
from .mpi_dataset import (MPIFolderDataset, MPIFolderError, find_mpi_planes,
                          write_bytes_atomic, write_mpi_folder)
from .synthetic_raw_dataset import image_seed, read_srgb
from .utils import scan_images

__all__ = [
    'GENERATOR_VERSION', 'SETTINGS_FILE', 'SCENE_FILE', 'over_composite',
    'make_synthetic_scene', 'generate_synthetic_mpis', 'SyntheticMPIDataset'
]

#: bump when the generated scenes change for the same settings.
GENERATOR_VERSION = 1
#: the settings of a folder of synthetic scenes (in ``out_root``)
SETTINGS_FILE = 'synthetic_mpi.json'
#: the record of one scene (in ``out_root/<scene>/``), written last
SCENE_FILE = 'synthetic_mpi_scene.json'
#: the frame folder of every scene (one frame per scene)
FRAME = '00000'

SizeType = Union[int, Sequence[int]]


def over_composite(mpi: np.ndarray) -> np.ndarray:
    """Back-to-front over-compositing of an MPI at its reference pose.

    The official ``mpi_render.over_composite``: ``out = rgb_0``, then
    ``out = rgb_i * a_i + out * (1 - a_i)`` for planes 1..P-1 (plane 0's
    alpha is ignored).

    Args:
        mpi (np.ndarray): float ``(P, H, W, 4)``, RGB then alpha in [0, 1].

    Returns:
        np.ndarray: ``(H, W, 3)``, same dtype.
    """
    out = mpi[0, :, :, :3]
    for plane in mpi[1:]:
        alpha = plane[:, :, 3:]
        out = plane[:, :, :3] * alpha + out * (1.0 - alpha)
    return out


def _pair(size: SizeType, name: str) -> Tuple[int, int]:
    values = tuple(size) if isinstance(size, (list, tuple)) else (size, size)
    if len(values) != 2 or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool)
            and v >= 8 for v in values):
        raise ValueError(
            f'synthetic MPI: {name} must be an int or (height, width) of at '
            f'least 8 pixels, got {size!r}')
    return int(values[0]), int(values[1])


def _layer_range(num_layers, num_planes: int) -> Tuple[int, int, List[int]]:
    """``(min, max)`` layer counts and the planes layers may go on."""
    if isinstance(num_layers, (int, np.integer)):
        num_layers = (num_layers, num_layers)
    low, high = (int(v) for v in num_layers)
    if not 1 <= low <= high:
        raise ValueError(
            'synthetic MPI: num_layers must be (min, max) with 1 <= min <= '
            f'max, got {num_layers!r}')
    first = max(1, (6 * num_planes) // 32)
    near = list(range(first, num_planes))
    if len(near) < high:
        raise ValueError(
            f'synthetic MPI: {num_planes} planes leave {len(near)} near '
            f'planes ({first}..{num_planes - 1}) for up to {high} layers; '
            'use more planes or fewer layers')
    return low, high, near


def _crop(photo: np.ndarray, rng: np.random.Generator,
          size: Tuple[int, int]) -> np.ndarray:
    """A random crop of 35-100 % of the largest window of the scene's
    aspect ratio, maybe mirrored, resized to ``size``."""
    h, w = size
    height, width = photo.shape[:2]
    factor = rng.uniform(0.35, 1.0) * min(height / h, width / w)
    ch = int(np.clip(round(factor * h), 1, height))
    cw = int(np.clip(round(factor * w), 1, width))
    top = int(rng.integers(0, height - ch + 1))
    left = int(rng.integers(0, width - cw + 1))
    crop = photo[top:top + ch, left:left + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    flag = cv2.INTER_AREA if ch >= h else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(crop), (w, h), interpolation=flag)


def _ellipse_sdf(v: np.ndarray, u: np.ndarray, ry: float,
                 rx: float) -> np.ndarray:
    """Approximate signed distance (px) to an axis-aligned ellipse."""
    d = np.sqrt((u / rx)**2 + (v / ry)**2)
    grad = np.sqrt((u / rx**2)**2 + (v / ry**2)**2)
    return (d - 1.0) * d / np.maximum(grad, 1e-9)


def _mask(rng: np.random.Generator, size: Tuple[int, int]) -> np.ndarray:
    """A soft-edged random shape, float ``(h, w)`` in [0, 1] covering
    5-40 % of the image: an ellipse, a rounded rectangle or a union of
    2-4 blobs, rotated, with a feathered edge a few pixels wide."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    scale = max(0.5, max(h, w) / 64.0)
    for _ in range(100):
        area = rng.uniform(0.06, 0.35) * h * w
        kind = int(rng.integers(3))
        cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w
        angle = rng.uniform(0.0, np.pi)
        aspect = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
        cos, sin = np.cos(angle), np.sin(angle)
        u = (xx - cx) * cos + (yy - cy) * sin
        v = -(xx - cx) * sin + (yy - cy) * cos
        if kind == 0:  # ellipse
            rx = np.sqrt(area * aspect / np.pi)
            sdf = _ellipse_sdf(v, u, area / (np.pi * rx), rx)
        elif kind == 1:  # rounded rectangle
            half_x = np.sqrt(area * aspect) / 2
            half_y = area / (4 * half_x)
            radius = rng.uniform(0.15, 0.5) * min(half_x, half_y)
            qx = np.abs(u) - half_x + radius
            qy = np.abs(v) - half_y + radius
            sdf = (np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) +
                   np.minimum(np.maximum(qx, qy), 0) - radius)
        else:  # union of blobs around the centre
            count = int(rng.integers(2, 5))
            sdf = np.full((h, w), np.inf)
            for _ in range(count):
                blob = area / count * 1.4
                rx = np.sqrt(blob * rng.uniform(0.6, 1.6) / np.pi)
                ry = blob / (np.pi * rx)
                oy, ox = rng.normal(0, 0.6, size=2) * np.sqrt(area / np.pi)
                sdf = np.minimum(sdf, _ellipse_sdf(v - oy, u - ox, ry, rx))
        feather = rng.uniform(1.5, 4.0) * scale
        t = np.clip(0.5 - sdf / feather, 0.0, 1.0)
        mask = t * t * (3.0 - 2.0 * t)  # smoothstep
        if 0.05 <= mask.mean() <= 0.40:
            return mask
    raise RuntimeError(  # pragma: no cover - a few draws always suffice
        'synthetic MPI: no mask of 5-40 % coverage in 100 draws')


def make_synthetic_scene(images: Sequence[np.ndarray],
                         rng: np.random.Generator,
                         size: SizeType = (64, 64),
                         num_planes: int = 32,
                         num_layers=(2, 4)
                         ) -> Tuple[np.ndarray, np.ndarray]:
    """A layered scene made of photographs, as an MPI and its reference.

    - plane 0 (the farthest): a random crop of ``images[0]`` rescaled to
      ``size``, opaque (alpha 1 everywhere);
    - ``num_layers`` (drawn in ``[min, max]``) foreground layers on distinct
      planes among the nearer ones (``[6, 31]`` for 32 planes; in
      general ``[max(1, 6P // 32), P - 1]``), sorted far to near: each a
      crop of a photo drawn from ``images`` cut out by a soft-edged random
      mask (ellipse, rounded rectangle or union of blobs; 5-40 % of the
      image; a few pixels of feathering, scaled with the size);
    - no other plane is occupied (alpha 0).

    The reference is the back-to-front over-composite
    (:func:`over_composite`) of the stored uint8 planes, in float64,
    rounded to uint8, so compositing the returned planes gives it back
    within rounding. Pixels a plane does not cover (alpha 0: empty planes,
    outside a layer's mask) get the reference's colour, so plane RGB is
    defined everywhere, as in Stereo Magnification's MPIs, whose colours
    blend the reference.

    Args:
        images (Sequence[np.ndarray]): uint8 ``(H, W, 3)`` RGB photographs;
            ``images[0]`` is the background.
        rng (np.random.Generator): the only source of randomness.
        size (int | tuple[int, int]): ``(h, w)`` of the scene. Default:
            ``(64, 64)``.
        num_planes (int): ``P``. Default: 32.
        num_layers (int | tuple[int, int]): foreground layer count, or its
            ``(min, max)``. Default: ``(2, 4)``.

    Returns:
        tuple: ``(ref, mpi)``: uint8 ``(h, w, 3)`` and uint8
        ``(P, h, w, 4)`` (RGB then alpha, plane 0 the farthest).

    Raises:
        ValueError: no image, an image that is not uint8 RGB, a size under
            8 pixels, or too few planes for the layers.
    """
    size = _pair(size, 'size')
    if isinstance(num_planes, bool) or not isinstance(
            num_planes, (int, np.integer)) or num_planes < 2:
        raise ValueError('synthetic MPI: num_planes must be an int >= 2, got '
                         f'{num_planes!r}')
    low, high, near = _layer_range(num_layers, int(num_planes))
    if not isinstance(images, (list, tuple)) or not images:
        raise ValueError('synthetic MPI: images must be a non-empty list of '
                         'uint8 (H, W, 3) photographs')
    for index, img in enumerate(images):
        if not (isinstance(img, np.ndarray) and img.dtype == np.uint8
                and img.ndim == 3 and img.shape[2] == 3):
            raise ValueError(
                f'synthetic MPI: images[{index}] must be a uint8 (H, W, 3) '
                f'RGB array, got {getattr(img, "dtype", type(img).__name__)}'
                f' {getattr(img, "shape", "")}')
    h, w = size
    mpi = np.zeros((int(num_planes), h, w, 4), np.uint8)
    mpi[0, :, :, :3] = _crop(images[0], rng, size)
    mpi[0, :, :, 3] = 255
    count = int(rng.integers(low, high + 1))
    planes = np.sort(rng.choice(near, size=count, replace=False))
    for plane in planes:
        photo = images[int(rng.integers(len(images)))]
        mpi[plane, :, :, :3] = _crop(photo, rng, size)
        mpi[plane, :, :, 3] = np.round(_mask(rng, size) * 255.0).astype(
            np.uint8)
    ref = over_composite(mpi.astype(np.float64) / 255.0)
    ref = np.clip(np.round(ref * 255.0), 0, 255).astype(np.uint8)
    empty = mpi[1:, :, :, 3] == 0
    mpi[1:, :, :, :3][empty] = np.broadcast_to(ref, mpi[1:, :, :, :3].shape)[
        empty]
    return ref, mpi


# ---------------------------------------------------------------------------
# folders of scenes
def _read_photo(path: str) -> Tuple[np.ndarray, str]:
    """uint8 RGB pixels and a short digest of the file's bytes."""
    with open(path, 'rb') as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()[:16]
    img = read_srgb(path)  # float64 in [0, 1]; grey / alpha / 16-bit handled
    return np.round(img * 255.0).astype(np.uint8), digest


def _settings(seed, size, num_planes, num_layers) -> dict:
    low, high, _ = _layer_range(num_layers, num_planes)
    return dict(generator=GENERATOR_VERSION, seed=int(seed), size=list(size),
                num_planes=int(num_planes), num_layers=[low, high])


def _json_bytes(data: dict) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + '\n').encode()


def _read_json(path: str) -> Optional[dict]:
    try:
        with open(path, encoding='utf-8') as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _describe_change(old: dict, new: dict) -> str:
    """What differs between two settings, for the error message."""
    changes = []
    for key in sorted(set(old) | set(new)):
        if key == 'sources':
            continue
        if old.get(key) != new.get(key):
            changes.append(f'{key} {old.get(key)!r} -> {new.get(key)!r}')
    if old.get('sources') != new.get('sources'):
        changes.append('the source images changed')
    return ', '.join(changes) or 'unreadable settings'


def _scene_complete(folder: str, num_planes: int) -> bool:
    try:
        find_mpi_planes(folder, num_planes)
    except (MPIFolderError, FileNotFoundError):
        return False
    return True


def generate_synthetic_mpis(src_root: str,
                            out_root: str,
                            scenes_per_image: int = 4,
                            size: SizeType = (64, 64),
                            seed: int = 0,
                            num_planes: int = 32,
                            num_layers=(2, 4),
                            overwrite: bool = False) -> List[str]:
    """Write ``scenes_per_image`` synthetic MPIs per photo of ``src_root``.

    Scene ``k`` of photo ``<stem>.<ext>`` is
    :func:`make_synthetic_scene` with ``images = [that photo] + the other
    photos (sorted by name)`` and ``rng = np.random.default_rng(
    image_seed(seed, '<file name>/<k>'))``, so it does not depend on the
    order the files are listed in. It goes to
    ``<out_root>/<stem>_s<k:02d>/00000/`` in the official layout
    (``src_image_0.png``, ``mpi_rgb_XX.png``, ``mpi_alpha_XX.png``), which
    :class:`~invtoolbox.datasets.MPIFolderDataset` reads with
    ``data_root=out_root``.

    The settings (generator version, seed, size, plane and layer counts,
    a digest of every source file) go to ``<out_root>/synthetic_mpi.json``
    before any scene; each scene's folder gets ``synthetic_mpi_scene.json``
    after its files. A scene whose record matches the settings and whose
    files are all there is kept, not made again; so a run can be resumed,
    ``scenes_per_image`` raised later, and several processes (DDP ranks)
    may run this at once: every file is written to a temporary name and
    renamed, the processes write identical bytes, and a reader never sees a
    partial file. (The scene files are not fsync'ed, which would take
    minutes on some disks: after a power cut, remove ``out_root`` and run
    again.)

    Args:
        src_root (str): folder of photographs (png, jpg, ...; not
            recursive).
        out_root (str): folder for the scenes (created if missing).
        scenes_per_image (int): scenes per photo. Default: 4.
        size (int | tuple[int, int]): ``(h, w)`` of the scenes. Default:
            ``(64, 64)``; keep multiples of 16 for the JPEG simulation.
        seed (int): base seed. Default: 0.
        num_planes (int): planes per MPI. Default: 32.
        num_layers (int | tuple[int, int]): foreground layers per scene.
            Default: ``(2, 4)``.
        overwrite (bool): accept an ``out_root`` made with other settings,
            or holding other files: the scenes that differ are made again
            and scene folders of earlier runs not made now are removed.
            Default: False.

    Returns:
        list[str]: the frame folders, by photo name then scene index.

    Raises:
        FileNotFoundError: ``src_root`` does not exist.
        ValueError: no image in ``src_root``; two photos with one stem;
            ``out_root`` is a file, holds other files, or was made with
            other settings (what changed in the message), unless
            ``overwrite``; bad arguments.
    """
    size = _pair(size, 'size')
    if isinstance(scenes_per_image, bool) or not isinstance(
            scenes_per_image, (int, np.integer)) or scenes_per_image < 1:
        raise ValueError('synthetic MPI: scenes_per_image must be a positive '
                         f'int, got {scenes_per_image!r}')
    settings = _settings(seed, size, num_planes, num_layers)
    _layer_range(num_layers, num_planes)
    if not osp.isdir(src_root):
        raise FileNotFoundError(
            f'synthetic MPI: the source folder {src_root!r} does not exist; '
            'point src_root at a folder of photographs')
    names = scan_images(src_root, owner='synthetic MPI', option='src_root')
    if not names:
        raise ValueError(f'synthetic MPI: no image (png, jpg, jpeg, bmp, '
                         f'tif, webp) in {src_root!r}')
    stems: Dict[str, str] = {}
    for name in names:
        stem = osp.splitext(name)[0]
        if stem in stems:
            raise ValueError(
                f'synthetic MPI: {stems[stem]!r} and {name!r} in '
                f'{src_root!r} would name the same scenes; rename one')
        stems[stem] = name
    photos, sources = {}, {}
    for name in names:
        photos[name], sources[name] = _read_photo(osp.join(src_root, name))
    settings['sources'] = sources
    digest = hashlib.sha256(_json_bytes(settings)).hexdigest()[:16]

    if osp.exists(out_root) and not osp.isdir(out_root):
        raise ValueError(f'synthetic MPI: out_root {out_root!r} is a file; '
                         'give a folder')
    settings_path = osp.join(out_root, SETTINGS_FILE)
    if osp.isdir(out_root) and not overwrite:
        # list first, then read the settings: every writer writes the
        # settings before any scene, so a folder another writer has begun
        # shows its settings here (read the other way round, a writer
        # starting at the same moment looked like foreign files)
        entries = [n for n in os.listdir(out_root) if not n.startswith('.')]
        old = _read_json(settings_path)
        if old is None and entries:
            raise ValueError(
                f'synthetic MPI: {out_root!r} holds other files and no '
                f'{SETTINGS_FILE}; choose an empty folder or pass '
                'overwrite=True (--overwrite)')
        if old is not None and old != settings:
            raise ValueError(
                f'synthetic MPI: {out_root!r} holds scenes made with other '
                f'settings ({_describe_change(old, settings)}; see '
                f'{settings_path}); choose another folder or pass '
                'overwrite=True (--overwrite) to make them again')
    os.makedirs(out_root, exist_ok=True)
    if _read_json(settings_path) != settings:
        write_bytes_atomic(settings_path, _json_bytes(settings))

    folders, scene_ids = [], set()
    for name in names:
        stem = osp.splitext(name)[0]
        others = [photos[n] for n in names if n != name]
        for index in range(int(scenes_per_image)):
            scene = f'{stem}_s{index:02d}'
            scene_ids.add(scene)
            folder = osp.join(out_root, scene, FRAME)
            folders.append(folder)
            record_path = osp.join(out_root, scene, SCENE_FILE)
            record = dict(settings=digest, source=name, index=index,
                          seed=image_seed(seed, f'{name}/{index}'))
            old = _read_json(record_path)
            if old is not None and {k: old.get(k)
                                    for k in record} == record and \
                    _scene_complete(folder, num_planes):
                continue
            rng = np.random.default_rng(record['seed'])
            ref, mpi = make_synthetic_scene([photos[name]] + others, rng,
                                            size, num_planes, num_layers)
            write_mpi_folder(folder, ref, mpi, overwrite=True, fsync=False)
            alpha = mpi[1:, :, :, 3]
            layers = [int(i) + 1 for i in np.flatnonzero(alpha.any((1, 2)))]
            record.update(
                layer_planes=layers,
                coverage=[round(float(alpha[i - 1].mean()) / 255, 4)
                          for i in layers])
            write_bytes_atomic(record_path, _json_bytes(record), fsync=False)
    if overwrite:
        for entry in sorted(os.listdir(out_root)):
            path = osp.join(out_root, entry)
            if entry not in scene_ids and osp.isfile(
                    osp.join(path, SCENE_FILE)):
                shutil.rmtree(path, ignore_errors=True)
    return folders


@DATASETS.register_module()
class SyntheticMPIDataset(MPIFolderDataset):
    """Synthetic MPIs of a folder of photographs.

    On first use :func:`generate_synthetic_mpis` writes the scenes into
    ``cache_root`` (deterministic; scenes already there are kept; safe when
    several ranks start at once); they are then read exactly as real data,
    by :class:`MPIFolderDataset`'s code and ``LoadMPIFromFolder``. Each data
    info is::

        {'frame_path': '<cache>/clic_00_0_s01/00000',
         'img_path': '<cache>/clic_00_0_s01/00000/src_image_0.png',
         'key': 'clic_00_0_s01/00000', 'video': 'clic_00_0_s01',
         'frame': '00000', 'num_planes': 32, 'sample_idx': 1}

    Example::

        dataset = dict(
            type='SyntheticMPIDataset', src_root='demo/data/train',
            scenes_per_image=4, size=(64, 64), seed=0,
            pipeline=[dict(type='LoadMPIFromFolder'),
                      dict(type='MPIFlip'),
                      dict(type='PackMPIInputs')])

    Args:
        src_root (str): folder of photographs.
        cache_root (str, optional): where the scenes go. Default:
            ``~/.cache/invtoolbox/synthetic_mpi/<hash>``, the hash of the
            source folder's absolute path and the settings.
        scenes_per_image (int): scenes per photo. Default: 4.
        size (int | tuple[int, int]): ``(h, w)`` of the scenes. Default:
            ``(64, 64)``.
        seed (int): base seed. Default: 0.
        num_planes (int): planes per MPI. Default: 32.
        num_layers (int | tuple[int, int]): foreground layers per scene.
            Default: ``(2, 4)``.
        pipeline (Sequence[dict | Callable]): the transforms.
        overwrite (bool, optional): make the scenes again when
            ``cache_root`` was made with other settings or photos. Default:
            None: True for the default cache (it is ours), False for a
            given ``cache_root`` (an error says what changed).
        **kwargs: other :class:`MPIFolderDataset` /
            :class:`mmengine.dataset.BaseDataset` arguments.

    Raises:
        FileNotFoundError: ``src_root`` does not exist.
        ValueError: see :func:`generate_synthetic_mpis`.
    """

    def __init__(self,
                 src_root: str,
                 cache_root: Optional[str] = None,
                 scenes_per_image: int = 4,
                 size: SizeType = (64, 64),
                 seed: int = 0,
                 num_planes: int = 32,
                 num_layers=(2, 4),
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 overwrite: Optional[bool] = None,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        if not isinstance(src_root, str) or not src_root:
            raise ValueError('SyntheticMPIDataset: src_root must be a folder '
                             f'of photographs, got {src_root!r}')
        self.src_root = src_root
        self.scenes_per_image = scenes_per_image
        self.size = _pair(size, 'size')
        self.seed = int(seed)
        self.num_layers = num_layers
        self.overwrite = (cache_root is None) if overwrite is None else \
            bool(overwrite)
        if cache_root is None:
            text = json.dumps(
                dict(src=osp.abspath(src_root),
                     **_settings(seed, self.size, num_planes, num_layers)),
                sort_keys=True)
            digest = hashlib.sha256(text.encode()).hexdigest()[:16]
            cache_root = osp.join(osp.expanduser('~'), '.cache',
                                  'invtoolbox', 'synthetic_mpi', digest)
        self.cache_root = cache_root
        metainfo = dict(metainfo or {})
        metainfo.setdefault(
            'dataset_name',
            osp.basename(osp.normpath(osp.abspath(src_root))) or 'synthetic')
        super().__init__(
            data_root=cache_root,
            num_planes=num_planes,
            pipeline=pipeline,
            metainfo=metainfo,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Make the missing scenes and list them.

        Returns:
            list[dict]: one data info per scene, by photo then scene index.
        """
        folders = generate_synthetic_mpis(
            self.src_root, self.cache_root,
            scenes_per_image=self.scenes_per_image, size=self.size,
            seed=self.seed, num_planes=self.num_planes,
            num_layers=self.num_layers, overwrite=self.overwrite)
        frames = [(osp.basename(osp.dirname(folder)), FRAME, folder)
                  for folder in folders]
        return self._data_infos(frames, self.cache_root)
