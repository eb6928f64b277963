"""The ExposureBracketEmbedding task."""
from typing import Sequence

import torch
from torch import Tensor

from invtoolbox.registry import TASKS
from invtoolbox.tasks import BaseRICTask


@TASKS.register_module()
class ExposureBracketEmbedding(BaseRICTask):
    """Embed an exposure bracket into one image that looks like its fusion.

    ``images`` are the K exposures in increasing order (e.g. -1, 0, +1 EV).
    The embedding should look like the exposure fusion of the bracket
    (Mertens et al.'s well-exposedness weights, without the pyramid): each
    pixel is the weighted mean of the exposures, the weight of an exposure
    being ``exp(-(v - 0.5)^2 / (2 sigma^2))`` of its own value, multiplied
    over the three channels. The stacking puts the middle exposure first
    (``reference_index``), which is what the relation module and couplings
    of IICNet expect of the "main" image.

    Args:
        num_images (int): exposures per sample. Default: 3.
        sigma (float): width of the well-exposedness weight. Default: 0.2.
    """

    num_images = 3
    image_names = None

    def __init__(self, num_images: int = 3, sigma: float = 0.2) -> None:
        if sigma <= 0:
            raise ValueError(f'ExposureBracketEmbedding: sigma must be > 0, '
                             f'got {sigma}.')
        self.sigma = float(sigma)
        super().__init__(num_images=num_images,
                         reference_index=num_images // 2)
        self.image_names = tuple(f'ev{i}' for i in range(self.num_images))

    def weights(self, images: Tensor) -> Tensor:
        """Normalised fusion weights ``(N, K, 1, H, W)``."""
        w = torch.exp(-(images - 0.5)**2 / (2 * self.sigma**2)).prod(
            dim=2, keepdim=True)
        return w / w.sum(dim=1, keepdim=True).clamp_min(1e-12)

    def reference(self, images: Tensor) -> Tensor:
        self.check_images(images)
        return (self.weights(images) * images).sum(dim=1)

    def __repr__(self) -> str:
        return (f'ExposureBracketEmbedding(num_images={self.num_images}, '
                f'sigma={self.sigma})')


def fuse(images: Sequence[Tensor], sigma: float = 0.2) -> Tensor:
    """Convenience: the fusion of a list of ``(3, H, W)`` exposures."""
    task = ExposureBracketEmbedding(num_images=len(images), sigma=sigma)
    return task.reference(torch.stack(list(images))[None])[0]
