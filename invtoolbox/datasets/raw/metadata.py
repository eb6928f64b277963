# Copyright (c) invtoolbox contributors. All rights reserved.
"""What a Bayer RAW needs besides its pixels, shared by readers and writers."""
from dataclasses import asdict, dataclass, field
from typing import Optional, Tuple

#: the 2x2 Bayer layouts, each read row-major from the top-left pixel of the
#: visible area: 'GRBG' means row 0 = G R, row 1 = B G.
CFA_PATTERNS = ('RGGB', 'BGGR', 'GRBG', 'GBRG')


@dataclass(frozen=True)
class RawMetadata:
    """Camera metadata of a Bayer RAW (LibRaw's view of it).

    Attributes:
        cfa (str): one of :data:`CFA_PATTERNS`, row-major 2x2 from the top-left
            pixel of ``raw_image_visible`` (from LibRaw's ``raw_pattern`` and
            ``color_desc``; never assumed).
        black_level (tuple): 4 black levels, one per CFA position, in the same
            row-major order as ``cfa``.
        white_level (int): saturation value of the sensor data.
        wb (tuple): camera white-balance multipliers (R, G, B), as LibRaw's
            ``camera_whitebalance[:3]`` (any scale; the pipeline divides by
            the max).
        flip (int): LibRaw ``sizes.flip`` (0: none, 3: 180 deg, 5: 90 deg CCW,
            6: 90 deg CW).
        color_matrix (tuple, optional): 3x3 XYZ -> camera matrix (row-major,
            9 floats; LibRaw ``rgb_xyz_matrix[:3]``, DNG ``ColorMatrix1``).
            None when unknown.
        camera (str): make and model, for DNG ``UniqueCameraModel``.
    """
    cfa: str
    black_level: Tuple[float, float, float, float]
    white_level: int
    wb: Tuple[float, float, float]
    flip: int = 0
    color_matrix: Optional[Tuple[float, ...]] = None
    camera: str = field(default='invtoolbox synthetic')

    def __post_init__(self):
        if self.cfa not in CFA_PATTERNS:
            raise ValueError(f'cfa must be one of {CFA_PATTERNS}, got '
                             f'{self.cfa!r}')
        if len(self.black_level) != 4:
            raise ValueError('black_level needs 4 values (one per CFA '
                             f'position), got {self.black_level!r}')
        if len(self.wb) != 3:
            raise ValueError(f'wb needs 3 values (R, G, B), got {self.wb!r}')
        if self.flip not in (0, 3, 5, 6):
            raise ValueError(f'flip must be 0, 3, 5 or 6, got {self.flip!r}')

    def to_dict(self) -> dict:
        """Plain JSON-able dict (e.g. to embed in a rendered JPEG)."""
        return {k: (list(v) if isinstance(v, tuple) else v)
                for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> 'RawMetadata':
        data = dict(data)
        for key in ('black_level', 'wb', 'color_matrix'):
            if data.get(key) is not None:
                data[key] = tuple(float(v) for v in data[key])
        return cls(**data)
