# Copyright (c) invtoolbox contributors. All rights reserved.
"""The data structure passed between datasets, models, metrics and hooks."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
from mmengine.structures import BaseDataElement


class DataSample(BaseDataElement):
    """One sample's images and meta information.

    Image fields are tensors ``(C, H, W)`` (channels at dim -3, always).
    Once they passed the model's data preprocessor they are floats in
    ``[0, 1]``, RGB, on the model's device, unless the preprocessor sets
    mean/std (then see ``value_ranges`` below). Conventional field names
    (read by losses, metrics and the visualisation hook):

    - ``gt_img``: the ground-truth image (e.g. the HR image);
    - ``lr_img``: the reference low-resolution / embedding target (e.g. the
      bicubic LR image IRN's forward loss compares with);
    - ``pred_img``: the model's restoration of ``gt_img``;
    - ``pred_lr``: the image the model produced on the way (the LR it
      ships, the embedding);
    - ``num_bytes`` (int): compressed size, when a real codec ran.

    Content other than 8-bit RGB uses the same fields with another layout:

    - **RAW mosaic**: ``(1, H, W)``, the Bayer pattern as stored; **packed
      Bayer**: ``(4, H/2, W/2)``, one channel per CFA position (e.g. R, G1,
      G2, B in the order the pattern gives); the levels the data was
      normalised with are the data preprocessor's ``black_level`` /
      ``white_level``.
    - **16-bit images**: ``PackInputs`` packs uint16 images as **int32**
      tensors holding the codes 0..65535 (``torch.uint16`` cannot be
      stacked, subtracted or flipped in every torch release this package
      supports) and records the bit depth in ``bit_depths``; the data
      preprocessor turns them into floats in [0, 1] (``/ 65535``, or by
      explicit levels).
    - **[-1, 1] images**: floats after a data preprocessor with
      ``mean=0.5, std=0.5``; recorded in ``value_ranges``. Map them back with
      ``DataPreprocessor.destruct`` before the metrics, which expect [0, 1].
    - **multi-image samples** (IICNet tasks): ``(K, 3, H, W)``, K images.
    - **multi-plane images** (MPIs, novel views): ``(32, 4, H, W)``: 32
      depth planes of RGBA, so a batch is ``(N, 32, 4, H, W)``.

    Meta information (``sample.metainfo``): ``img_path``, ``key`` (a short
    name, e.g. the file stem), ``ori_shape`` (H, W before any crop),
    ``scale``, and, for non-8-bit content:

    - ``bit_depths`` (``dict[str, int]``): field name (``'inputs'`` for the
      model input) -> bits of the integer codes that field was packed as
      (16 for a uint16 image; 8 for uint8 packed with
      ``PackInputs(keep_uint8=True)``). Written by ``PackInputs``, read by
      the data preprocessor; kept afterwards, so outputs can be saved at the
      same depth. Absent for images packed as floats (the default for 8-bit
      files). See :meth:`get_bit_depth`.
    - ``value_ranges`` (``dict[str, tuple]``): field -> ``(low, high)`` of
      the normalised values when they are not in [0, 1] (mean/std set in
      the data preprocessor), e.g. ``{'gt_img': (-1.0, 1.0)}``; per-channel
      tuples for per-channel mean/std. Written by the data preprocessor.
      See :meth:`get_value_range`.

    Example:
        >>> sample = DataSample(gt_img=torch.rand(3, 8, 8),
        ...                     metainfo=dict(key='baby'))
        >>> sample.gt_img.shape
        torch.Size([3, 8, 8])
    """

    def get_bit_depth(self, field: str) -> Optional[int]:
        """Bits of the integer codes ``field`` was packed as (``'inputs'``
        for the model input), from ``bit_depths``; ``None`` if not recorded
        (float images)."""
        depth = (self.metainfo.get('bit_depths') or {}).get(field)
        return None if depth is None else int(depth)

    def get_value_range(self, field: str) -> Tuple[object, object]:
        """``(low, high)`` of ``field``'s values.

        The recorded ``value_ranges`` entry if any; ``(0, 2 ** bits - 1)``
        for an integer field with a recorded bit depth (before the data
        preprocessor); otherwise ``(0.0, 1.0)``.
        """
        recorded = (self.metainfo.get('value_ranges') or {}).get(field)
        if recorded is not None:
            return tuple(recorded)
        value = self.get(field) if field in self else None
        depth = self.get_bit_depth(field)
        if isinstance(value, torch.Tensor) and \
                not value.is_floating_point() and depth is not None:
            return (0, 2**depth - 1)
        return (0.0, 1.0)

    @staticmethod
    def stack(samples: Sequence['DataSample'], field: str) -> torch.Tensor:
        """Stack one image field of several samples into a batch.

        ``(C, H, W)`` fields give ``(N, C, H, W)``; any other layout gets the
        batch dimension in front as well (``(K, 3, H, W)`` ->
        ``(N, K, 3, H, W)``, an MPI ``(32, 4, H, W)`` ->
        ``(N, 32, 4, H, W)``). The dtype is kept (float, uint8, int32 codes).

        Raises:
            ValueError: when a sample lacks the field, the field is not a
                tensor, or sizes or dtypes differ, naming the field and the
                offending shapes / dtypes.
        """
        missing = [i for i, s in enumerate(samples) if field not in s]
        if missing:
            raise ValueError(
                f'data sample(s) {missing} have no {field!r} field; check the '
                'dataset pipeline (PackInputs keys).')
        tensors = [s.get(field) for s in samples]
        wrong = [(i, type(t).__name__) for i, t in enumerate(tensors)
                 if not isinstance(t, torch.Tensor)]
        if wrong:
            raise ValueError(
                f'cannot batch {field!r}: sample {wrong[0][0]} holds a '
                f'{wrong[0][1]}, not a tensor; pack images with PackInputs.')
        shapes = {tuple(t.shape) for t in tensors}
        if len(shapes) > 1:
            raise ValueError(
                f'cannot batch {field!r} of different sizes {sorted(shapes)}; '
                'crop to a fixed size in the pipeline or use batch_size=1.')
        dtypes = {t.dtype for t in tensors}
        if len(dtypes) > 1:
            raise ValueError(
                f'cannot batch {field!r} of different dtypes '
                f'{sorted(map(str, dtypes))} (e.g. 8- and 16-bit files); '
                'normalise them first (DataPreprocessor) or load every file '
                'at one bit depth (LoadImageFromFile(bit_depth=...)).')
        return torch.stack(tensors)
