# Copyright (c) invtoolbox contributors. All rights reserved.
"""Batching, normalisation and device placement of images and data samples."""
from __future__ import annotations

import math
from numbers import Real
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseDataPreprocessor

from ...registry import MODELS
from ...structures import DataSample

Levels = Union[None, float, Sequence[float]]

#: the options a field's normalisation takes (``per_field`` keys)
NORM_OPTIONS = ('black_level', 'white_level', 'mean', 'std')

#: the name of the model input in ``per_field``, ``bit_depths``, ...
INPUTS = 'inputs'


def _values(value, option: str, field: str) -> Optional[Tuple[float, ...]]:
    """``None``, a number or a non-empty sequence of numbers -> tuple."""
    if value is None:
        return None
    items = value if isinstance(value, (list, tuple)) else [value]
    ok = len(items) > 0 and all(
        isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v)
        for v in items)
    if not ok:
        raise ValueError(
            f'DataPreprocessor: {option} of {field!r} must be a number or a '
            f'list of per-channel numbers, got {value!r}')
    return tuple(float(v) for v in items)


def _pairs(a: Tuple[float, ...], b: Tuple[float, ...]):
    """Element pairs of two value tuples (a 1-tuple broadcasts)."""
    n = max(len(a), len(b))
    return [(a[0] if len(a) == 1 else a[i], b[0] if len(b) == 1 else b[i])
            for i in range(n)]


class FieldNorm:
    """The normalisation of one field: ``(x - black) / (white - black)``,
    then ``(. - mean) / std``.

    ``black`` / ``white`` are ``None`` (from the dtype: 0 and the largest
    code) or tuples of one value (all channels) or one per channel; so are
    ``mean`` / ``std`` (``None``: no standardisation).
    """

    def __init__(self, field: str, black_level: Levels = None,
                 white_level: Levels = None, mean: Levels = None,
                 std: Levels = None) -> None:
        self.field = field
        self.black = _values(black_level, 'black_level', field)
        self.white = _values(white_level, 'white_level', field)
        self.mean = _values(mean, 'mean', field)
        self.std = _values(std, 'std', field)
        for name, a, b in (('black_level and white_level', self.black,
                            self.white), ('mean and std', self.mean,
                                          self.std)):
            if a is not None and b is not None and len(a) != len(b) and \
                    1 not in (len(a), len(b)):
                raise ValueError(
                    f'DataPreprocessor: {name} of {field!r} have {len(a)} and '
                    f'{len(b)} values; give one per channel, or a scalar')
        if self.white is not None:  # the black level defaults to 0
            for black, white in _pairs(self.black or (0.0, ), self.white):
                if not white > black:
                    raise ValueError(
                        f'DataPreprocessor: white_level of {field!r} must be '
                        f'above black_level, got black {black:g} and white '
                        f'{white:g}')
        if self.std is not None and not all(s > 0 for s in self.std):
            raise ValueError(
                f'DataPreprocessor: std of {field!r} must be positive, got '
                f'{list(self.std)}')
        if self.mean is not None and self.std is None:
            self.std = (1.0, )
        elif self.std is not None and self.mean is None:
            self.mean = (0.0, )

    @property
    def has_levels(self) -> bool:
        """Whether black or white levels were given (instead of the dtype)."""
        return self.black is not None or self.white is not None

    @property
    def standardizes(self) -> bool:
        """Whether mean / std apply."""
        return self.mean is not None

    def value_range(self) -> Tuple[object, object]:
        """``(low, high)`` of the normalised values for data in
        ``[black, white]``: floats, or per-channel tuples."""
        if not self.standardizes:
            return (0.0, 1.0)
        pairs = _pairs(self.mean, self.std)
        low = tuple((0.0 - m) / s for m, s in pairs)
        high = tuple((1.0 - m) / s for m, s in pairs)
        return (low[0], high[0]) if len(pairs) == 1 else (low, high)

    def __repr__(self) -> str:
        parts = [f'{name}={list(v)}' for name, v in (
            ('black_level', self.black), ('white_level', self.white),
            ('mean', self.mean), ('std', self.std)) if v is not None]
        return f'{self.field}: ' + (', '.join(parts) or 'by dtype')


def _bit_depth(sample, field: str) -> Optional[int]:
    """``sample.metainfo['bit_depths'][field]``, or None."""
    metainfo = getattr(sample, 'metainfo', None)
    if not isinstance(metainfo, dict):
        return None
    depth = (metainfo.get('bit_depths') or {}).get(field)
    return None if depth is None else int(depth)


def _channel_tensor(values: Tuple[float, ...], x: torch.Tensor, option: str,
                    field: str, dtype: torch.dtype) -> Union[float,
                                                             torch.Tensor]:
    """A scalar, or a ``(C, 1, 1)`` tensor for per-channel values."""
    if len(values) == 1:
        return values[0]
    channels = x.shape[-3] if x.dim() >= 3 else None
    if channels != len(values):
        raise ValueError(
            f'DataPreprocessor: {option} of {field!r} has {len(values)} '
            f'values but the images have {channels} channels (dim -3 of '
            f'shape {tuple(x.shape)}); give one value per channel or a scalar')
    return torch.tensor(values, dtype=dtype, device=x.device)[:, None, None]


def code_white(dtype: torch.dtype, bit_depth: Optional[int],
               field: str) -> Optional[float]:
    """The largest code of an integer image: ``2 ** bit_depth - 1`` when the
    bit depth is known, else from the dtype; ``None`` for floats."""
    if dtype.is_floating_point:
        return None
    if dtype == torch.bool or dtype.is_complex:
        raise ValueError(
            f'DataPreprocessor: {field!r} is {dtype}; images must be integer '
            'codes or floats')
    if bit_depth is not None:
        limit = torch.iinfo(dtype).bits - (1 if torch.iinfo(dtype).min < 0
                                           else 0)
        if not 1 <= int(bit_depth) <= limit:
            raise ValueError(
                f'DataPreprocessor: {field!r} is {dtype} but its recorded bit '
                f'depth is {bit_depth!r} (metainfo bit_depths); pack it with '
                'PackInputs or fix the bit depth')
        return float(2**int(bit_depth) - 1)
    if dtype in (torch.uint8, torch.int8, torch.int16) or \
            dtype == getattr(torch, 'uint16', None):
        return float(torch.iinfo(dtype).max)
    raise ValueError(
        f'DataPreprocessor: {field!r} is {dtype} with no bit depth recorded '
        "(metainfo 'bit_depths', set by PackInputs for 16-bit images); pack "
        'it with PackInputs or give the field a white_level')


@MODELS.register_module()
class DataPreprocessor(BaseDataPreprocessor):
    """Stacks ``inputs`` into an NCHW float batch on the model's device and
    normalises it (and the data-sample image fields) to [0, 1].

    ``data`` from the dataloader is ``{'inputs': list of (C, H, W) tensors or
    an (N, C, H, W) tensor, 'data_samples': list of DataSample}`` (the output
    of ``PackInputs`` after mmengine's ``pseudo_collate``; multi-image
    samples ``(K, C, H, W)`` stack to ``(N, K, C, H, W)``). The model input
    (named ``'inputs'`` below) and the data-sample fields listed in
    ``sample_fields`` are normalised, each on its own terms:

    1. **to [0, 1]**: by dtype (default): uint8 ``/ 255``, uint16
       ``/ 65535``, int8 / int16 by their largest value, int32 / int64 by
       ``2 ** bits - 1`` with ``bits`` from the sample's ``bit_depths``
       metainfo (``PackInputs`` stores 16-bit images as int32 codes and
       records 16 there); floats are kept as they are. Or by explicit levels:
       ``(x - black_level) / (white_level - black_level)``, e.g. a 14-bit
       RAW with ``black_level=600, white_level=16383``; a missing level comes
       from the dtype (0, the largest code; 1.0 for floats). Levels are in
       the units of the tensor the preprocessor receives (integer codes; for
       the uint8 images that ``PackInputs`` turns into floats, [0, 1] units
       unless it runs with ``keep_uint8=True``).
    2. **standardise** (optional): ``(x - mean) / std`` after step 1, so the
       same numbers serve 8- and 16-bit data; ``mean=0.5, std=0.5`` maps
       [0, 1] to [-1, 1]. (MMagic's preprocessor applies its mean/std, 127.5
       by default, to 0..255 values instead.) :meth:`destruct` undoes it.

    Levels and mean/std are scalars or one value per channel (dim -3). The
    top-level options apply to every field; ``per_field`` overrides them for
    single fields, so a RAW input and an sRGB target each get their own::

        data_preprocessor = dict(
            type='DataPreprocessor',
            sample_fields=('gt_img', ),
            per_field=dict(
                inputs=dict(black_level=600, white_level=16383),  # 14-bit RAW
                gt_img=dict()))                                   # by dtype

    With the defaults nothing changes from earlier versions: uint8 is divided
    by 255 and floats are kept, bit for bit. Fields whose values leave
    [0, 1] (mean/std given) are recorded in the samples' ``value_ranges``
    metainfo (see :class:`~invtoolbox.structures.DataSample`).

    Args:
        sample_fields (Sequence[str]): data-sample image fields to normalise.
            Default: ``('gt_img', 'lr_img')``.
        black_level, white_level (float | Sequence[float], optional): levels
            of every field. Default: None (from the dtype).
        mean, std (float | Sequence[float], optional): standardisation of
            every field after scaling to [0, 1]. Default: None (none).
        per_field (dict[str, dict], optional): ``{field: {option: value}}``
            overriding the four options above for ``'inputs'`` or one of
            ``sample_fields``; ``None`` as a value removes a top-level
            setting for that field.
        non_blocking (bool): passed to ``Tensor.to``.

    Raises:
        ValueError: a bad option (white level not above black, a negative
            std, an unknown field or option, per-channel values whose count
            does not match the images), an integer tensor whose scale is
            unknown, or inputs of different sizes; one line each.
    """

    def __init__(self,
                 sample_fields: Sequence[str] = ('gt_img', 'lr_img'),
                 black_level: Levels = None,
                 white_level: Levels = None,
                 mean: Levels = None,
                 std: Levels = None,
                 per_field: Optional[Dict[str, dict]] = None,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking)
        if isinstance(sample_fields, str):
            sample_fields = (sample_fields, )
        self.sample_fields = tuple(sample_fields)
        defaults = dict(black_level=black_level, white_level=white_level,
                        mean=mean, std=std)
        per_field = {} if per_field is None else per_field
        if not isinstance(per_field, dict):
            raise ValueError(
                'DataPreprocessor: per_field must be a dict {field: {option: '
                f'value}}, got {type(per_field).__name__}')
        known = (INPUTS, ) + self.sample_fields
        for field, options in per_field.items():
            if field not in known:
                raise ValueError(
                    f'DataPreprocessor: per_field key {field!r} is not '
                    f"'inputs' or one of sample_fields {self.sample_fields}; "
                    'add it to sample_fields or fix the name')
            if not isinstance(options, dict):
                raise ValueError(
                    f'DataPreprocessor: per_field[{field!r}] must be a dict of '
                    f'{", ".join(NORM_OPTIONS)}, got {options!r}')
            unknown = sorted(set(options) - set(NORM_OPTIONS))
            if unknown:
                raise ValueError(
                    f'DataPreprocessor: per_field[{field!r}] has unknown '
                    f'option(s) {unknown}; use {", ".join(NORM_OPTIONS)}')
        self.norms: Dict[str, FieldNorm] = {
            field: FieldNorm(field, **{**defaults, **per_field.get(field, {})})
            for field in known
        }

    # ------------------------------------------------------------------
    # one tensor
    # ------------------------------------------------------------------
    def _norm(self, field: str) -> FieldNorm:
        if field not in self.norms:
            raise ValueError(
                f'DataPreprocessor: unknown field {field!r}; use '
                f"'inputs' or one of sample_fields {self.sample_fields}")
        return self.norms[field]

    def normalize(self, x: torch.Tensor, field: str = INPUTS,
                  bit_depth: Optional[int] = None) -> torch.Tensor:
        """Normalise one tensor (``(..., C, H, W)``) as ``field``.

        Args:
            x (torch.Tensor): integer codes or floats.
            field (str): ``'inputs'`` or one of ``sample_fields``.
            bit_depth (int, optional): bits of the integer codes, for int32 /
                int64 tensors (PackInputs' 16-bit images).

        Returns:
            torch.Tensor: float (float32 for integer input; a float input
            keeps its dtype and, with no levels and no mean/std, is returned
            as it is).
        """
        norm = self._norm(field)
        if x.dtype.is_floating_point or (norm.white is not None
                                         and bit_depth is None):
            white_code = None  # floats; or integer codes with a given white
        else:
            white_code = code_white(x.dtype, bit_depth, field)
        if not norm.has_levels:
            if white_code is None:
                out = x
            elif x.dtype == torch.uint8:
                out = x.float().div_(255.)  # as earlier versions, bit for bit
            else:
                out = x.float().div_(white_code)
        else:
            if not (x.dtype.is_floating_point or x.dtype.is_signed
                    or x.dtype in (torch.uint8, getattr(torch, 'uint16',
                                                        None))):
                raise ValueError(f'DataPreprocessor: {field!r} is {x.dtype}; '
                                 'images must be integer codes or floats')
            dtype = x.dtype if x.dtype.is_floating_point else torch.float32
            black = norm.black or (0.0, )
            white = norm.white or (1.0 if white_code is None else white_code,
                                   )
            for b, w in _pairs(black, white):
                if not w > b:
                    raise ValueError(
                        f'DataPreprocessor: white level {w:g} of {field!r} '
                        f'(from its {"dtype" if norm.white is None else "config"}'
                        f') is not above its black level {b:g}; set '
                        'white_level')
            b = _channel_tensor(black, x, 'black_level', field, dtype)
            scale = _channel_tensor(
                tuple(w - k for k, w in _pairs(black, white)), x,
                'white_level', field, dtype)
            out = (x.to(dtype) - b) / scale
        if norm.standardizes:
            mean = _channel_tensor(norm.mean, out, 'mean', field, out.dtype)
            std = _channel_tensor(norm.std, out, 'std', field, out.dtype)
            out = (out - mean) / std
        return out

    def destruct(self,
                 outputs: torch.Tensor,
                 data_samples: Optional[Sequence[DataSample]] = None,
                 field: str = INPUTS,
                 restore_levels: bool = False) -> torch.Tensor:
        """Map model outputs back from the normalised range of ``field``.

        Undoes mean/std (``x * std + mean``), giving [0, 1] values for
        saving or visualisation (``tensor2img``) and for the metrics. With
        ``restore_levels=True`` it also undoes step 1, giving float values in
        the stored units (RAW codes between the black and white levels, or
        ``0 .. 2 ** bits - 1``): round and cast them to save a 16-bit file.

        Args:
            outputs (torch.Tensor): float ``(N, ..., C, H, W)`` or one image.
            data_samples (Sequence[DataSample], optional): the batch's data
                samples; needed with ``restore_levels=True`` when the white
                level comes from the bit depth (``bit_depths`` metainfo).
            field (str): whose normalisation to undo. Default: ``'inputs'``.
            restore_levels (bool): also undo the scaling to [0, 1].

        Returns:
            torch.Tensor: float, same shape (not clamped, not rounded).
        """
        norm = self._norm(field)
        if not outputs.is_floating_point():
            raise ValueError(
                f'DataPreprocessor.destruct: outputs must be a float tensor, '
                f'got {outputs.dtype}')
        out = outputs
        if norm.standardizes:
            mean = _channel_tensor(norm.mean, out, 'mean', field, out.dtype)
            std = _channel_tensor(norm.std, out, 'std', field, out.dtype)
            out = out * std + mean
        if not restore_levels:
            return out
        black = norm.black or (0.0, )
        if norm.white is not None:
            whites = [norm.white]
        else:
            depths = [_bit_depth(s, field) for s in (data_samples or [])]
            if not depths or any(d is None for d in depths):
                raise ValueError(
                    f'DataPreprocessor.destruct: {field!r} was scaled by its '
                    'bit depth, and no data sample records one (metainfo '
                    "bit_depths); pass the batch's data_samples, or configure "
                    'white_level (float fields are already in their [0, 1] '
                    'units: drop restore_levels)')
            whites = [(float(2**d - 1), ) for d in depths]
        if len(set(whites)) == 1:
            scale = _channel_tensor(
                tuple(w - k for k, w in _pairs(black, whites[0])), out,
                'white_level', field, out.dtype)
            return out * scale + _channel_tensor(black, out, 'black_level',
                                                 field, out.dtype)
        if out.shape[0] != len(whites):
            raise ValueError(
                f'DataPreprocessor.destruct: {len(whites)} data samples for '
                f'a batch of {out.shape[0]}')
        return torch.stack([
            o * _channel_tensor(tuple(w - k for k, w in _pairs(black, white)),
                                o, 'white_level', field, o.dtype) +
            _channel_tensor(black, o, 'black_level', field, o.dtype)
            for o, white in zip(out, whites)
        ])

    def value_range(self, field: str = INPUTS) -> Tuple[object, object]:
        """``(low, high)`` of ``field`` after normalisation, for data between
        its black and white levels: ``(0.0, 1.0)`` unless mean/std are set
        (e.g. ``(-1.0, 1.0)`` for ``mean=0.5, std=0.5``); per-channel tuples
        for per-channel mean/std."""
        return self._norm(field).value_range()

    # ------------------------------------------------------------------
    # the batch
    # ------------------------------------------------------------------
    @staticmethod
    def _bit_depths(samples: Optional[Sequence[DataSample]], count: int,
                    field: str) -> List[Optional[int]]:
        if samples is None or len(samples) != count:
            return [None] * count
        return [_bit_depth(s, field) for s in samples]

    def _normalize_batch(self, tensors: Sequence[torch.Tensor],
                         depths: List[Optional[int]]) -> torch.Tensor:
        """Stack per-sample tensors and normalise them as ``'inputs'``."""
        if len({(t.dtype, d) for t, d in zip(tensors, depths)}) == 1:
            return self.normalize(torch.stack(list(tensors)), INPUTS,
                                  depths[0])
        return torch.stack([  # mixed bit depths: one at a time
            self.normalize(t, INPUTS, d) for t, d in zip(tensors, depths)
        ])

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data.get('inputs')
        samples: Optional[List[DataSample]] = data.get('data_samples')
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(t.shape) for t in inputs}
            if len(shapes) > 1:
                raise ValueError(
                    f'cannot batch inputs of different sizes {sorted(shapes)};'
                    ' crop to a fixed size in the pipeline or use '
                    'batch_size=1.')
            inputs = self._normalize_batch(
                inputs, self._bit_depths(samples, len(inputs), INPUTS)) \
                if inputs else None
        elif inputs is not None:
            if inputs.dim() == 3:
                inputs = inputs[None]
            depths = self._bit_depths(samples, len(inputs), INPUTS)
            inputs = self.normalize(inputs, INPUTS, depths[0]) \
                if len(set(depths)) == 1 else self._normalize_batch(
                    list(inputs), depths)
        if samples is not None:
            ranges = {
                field: self.norms[field].value_range()
                for field in (INPUTS, ) + self.sample_fields
                if self.norms[field].standardizes
            }
            for sample in samples:
                for field in self.sample_fields:
                    if field in sample:
                        sample.set_field(
                            self.normalize(sample.get(field), field,
                                           _bit_depth(sample, field)), field)
                if ranges:
                    recorded = dict(sample.metainfo.get('value_ranges', {}))
                    recorded.update(ranges)
                    sample.set_metainfo(dict(value_ranges=recorded))
        return dict(inputs=inputs, data_samples=samples)

    def __repr__(self) -> str:
        norms = '; '.join(repr(n) for n in self.norms.values())
        return f'{type(self).__name__}({norms})'
