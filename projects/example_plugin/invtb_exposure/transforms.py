"""SimulateExposureBracket: make an exposure bracket from one photograph."""
from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from invtoolbox.registry import TRANSFORMS


@TRANSFORMS.register_module()
class SimulateExposureBracket(BaseTransform):
    """Turn ``results['imgs']`` (one sRGB uint8 image) into K exposures.

    Each exposure is ``srgb(clip(linear(img) * 2**ev, 0, 1))`` with the
    sRGB transfer curve approximated by a 2.2 gamma, rounded to uint8, in
    the order of ``evs``. Use it after ``LoadImages`` (and a crop) and
    before ``PackImages``.

    Args:
        evs (Sequence[float]): exposure offsets in stops, increasing.
            Default: (-1, 0, 1).
    """

    def __init__(self, evs: Sequence[float] = (-1., 0., 1.)) -> None:
        evs = [float(e) for e in evs]
        if len(evs) < 2 or sorted(evs) != evs:
            raise ValueError('SimulateExposureBracket: evs must hold at least '
                             f'two increasing exposure offsets, got {evs}.')
        self.evs = evs

    def transform(self, results: dict) -> dict:
        imgs = results.get('imgs')
        if not isinstance(imgs, list) or len(imgs) != 1:
            count = len(imgs) if isinstance(imgs, list) else 'no'
            raise ValueError(
                'SimulateExposureBracket: expected exactly one loaded image '
                f"in results['imgs'], got {count}; load one image per "
                'sample (e.g. ImageGroupDataset(group_size=1)).')
        linear = (imgs[0].astype(np.float32) / 255.)**2.2
        bracket = []
        for ev in self.evs:
            shot = np.clip(linear * 2.**ev, 0., 1.)**(1 / 2.2)
            bracket.append(np.round(shot * 255.).astype(np.uint8))
        results['imgs'] = bracket
        results['evs'] = list(self.evs)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(evs={self.evs})'
