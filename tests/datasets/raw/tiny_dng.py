# Copyright (c) invtoolbox contributors. All rights reserved.
"""Tiny DNGs written with tifffile for the RAW-reading tests (a few KB).

Test-only helper: the project's own DNG writer is
``invtoolbox.datasets.raw.dng``; these files are deliberately built tag by
tag so that malformed variants (no AsShotNeutral, odd size, linear
3-sample) can be made too.
"""
import numpy as np
import tifffile


def bayer_image(height=64, width=96, low=100, high=4000, seed=0):
    """A random uint16 mosaic (LibRaw rejects images below ~22 px)."""
    rng = np.random.default_rng(seed)
    return rng.integers(low, high, (height, width)).astype(np.uint16)


def write_test_dng(path, data, cfa='RGGB', black=(0, 0, 0, 0), white=4095,
                   neutral=(0.5, 1.0, 0.8), orientation=1, linear=False):
    """Write ``data`` as an uncompressed DNG 1.4.

    Args:
        data: ``(H, W)`` uint16 mosaic, or ``(H, W, 3)`` with ``linear``.
        cfa (str): 2x2 layout, row-major (``CFAPattern``).
        black (tuple): ``BlackLevel`` per CFA site (row-major).
        neutral (tuple | None): ``AsShotNeutral`` (None: tag left out).
        orientation (int): TIFF ``Orientation`` (6: LibRaw flip 6).
        linear (bool): a LinearRaw (34892) 3-sample DNG.
    """
    tags = [(50706, 'B', 4, (1, 4, 0, 0), True),
            (50707, 'B', 4, (1, 1, 0, 0), True),
            (50708, 's', 0, 'Test Camera', True),
            (271, 's', 0, 'TestMake', True),
            (272, 's', 0, 'TestModel', True),
            (274, 'H', 1, orientation, True),
            (50717, 'I', 1, white, True)]
    if not linear:
        tags += [(33421, 'H', 2, (2, 2), True),
                 (33422, 'B', 4, tuple('RGB'.index(c) for c in cfa), True),
                 (50710, 'B', 3, (0, 1, 2), True),
                 (50713, 'H', 2, (2, 2), True),
                 (50714, 'H', 4, tuple(int(b) for b in black), True)]
    if neutral is not None:
        values = []
        for v in neutral:
            values += [int(round(v * 10000)), 10000]
        tags.append((50728, '2I', 3, tuple(values), True))
    tifffile.imwrite(path, data, photometric=34892 if linear else 32803,
                     extratags=tags, metadata=None)
    return path
