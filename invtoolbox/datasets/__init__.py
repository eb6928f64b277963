# Copyright (c) invtoolbox contributors. All rights reserved.
"""Datasets (mmengine ``BaseDataset``, registered in ``DATASETS``) and transforms."""
from . import transforms  # noqa: F401  (registers the transforms)
from .fivek_raw_dataset import FiveKRAWDataset, RAWFolderDataset
from .image_folder_dataset import ImageFolderDataset
from .mpi_dataset import (MPI_ID_LISTS, MPIFolderDataset, MPIFolderError,
                          find_mpi_planes, read_mpi_folder, write_mpi_folder)
from .multi_image_datasets import (ImageGroupDataset, MultiFolderDataset,
                                   StereoPairDataset, VideoClipDataset)
from .paired_image_dataset import PairedImageDataset
from .synthetic_mpi import (SyntheticMPIDataset, generate_synthetic_mpis,
                            make_synthetic_scene)
from .synthetic_raw_dataset import SyntheticRAWDataset
from .transforms import (Flip, GenerateBicubicLR, LoadImageFromFile,
                         LoadMPIFromFolder, ModCrop, MPIFlip, MPIResizeCrop,
                         PackInputs, PackMPIInputs, PairedRandomCrop,
                         RandomTranspose, image_to_tensor)
from .utils import IMG_EXTENSIONS, build_pipeline, is_image_file, scan_images

__all__ = [
    'ImageFolderDataset', 'PairedImageDataset', 'IMG_EXTENSIONS',
    'is_image_file', 'scan_images', 'build_pipeline', 'LoadImageFromFile',
    'ModCrop', 'PairedRandomCrop', 'Flip', 'RandomTranspose',
    'GenerateBicubicLR', 'PackInputs', 'image_to_tensor',
    'VideoClipDataset', 'StereoPairDataset', 'MultiFolderDataset',
    'ImageGroupDataset', 'FiveKRAWDataset', 'RAWFolderDataset',
    'SyntheticRAWDataset', 'MPIFolderDataset', 'MPIFolderError',
    'MPI_ID_LISTS', 'find_mpi_planes', 'read_mpi_folder', 'write_mpi_folder',
    'SyntheticMPIDataset', 'make_synthetic_scene', 'generate_synthetic_mpis',
    'LoadMPIFromFolder', 'MPIResizeCrop', 'MPIFlip', 'PackMPIInputs'
]
