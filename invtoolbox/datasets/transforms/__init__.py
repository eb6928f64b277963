# Copyright (c) invtoolbox contributors. All rights reserved.
"""Data transforms (mmcv ``BaseTransform``), registered in ``TRANSFORMS``.

Results-dict conventions (see ``docs/datasets_and_runtime.md``): images are
numpy ``(H, W, C)`` RGB arrays; images read from files are uint8 in
[0, 255], images computed by a transform (``GenerateBicubicLR``) are float32
in [0, 1]; ``PackInputs`` turns both into float32 ``(C, H, W)`` tensors in
[0, 1].
"""
from .augmentation import Flip, RandomTranspose
from .crop import CenterCrop, ModCrop, PairedRandomCrop
from .formatting import PackInputs, image_to_tensor
from .generate_lr import GenerateBicubicLR, GenerateGreyReference
from .loading import LoadImageFromFile
from .mpi import LoadMPIFromFolder, MPIFlip, MPIResizeCrop, PackMPIInputs
from .multi_image import (CenterCropImages, GenerateDualView, LoadImages,
                          ModCropImages, PackImages, RandomCropImages,
                          ResizeImages)
from .raw import LoadRAWFromFile, LoadSRGBTarget, RandomRot90Flip

__all__ = [
    'LoadImageFromFile', 'ModCrop', 'PairedRandomCrop', 'CenterCrop', 'Flip',
    'RandomTranspose', 'GenerateBicubicLR', 'GenerateGreyReference',
    'PackInputs', 'image_to_tensor',
    'LoadImages', 'RandomCropImages', 'CenterCropImages', 'ModCropImages',
    'ResizeImages', 'GenerateDualView', 'PackImages', 'LoadRAWFromFile',
    'LoadSRGBTarget', 'RandomRot90Flip', 'LoadMPIFromFolder', 'MPIResizeCrop',
    'MPIFlip', 'PackMPIInputs'
]
