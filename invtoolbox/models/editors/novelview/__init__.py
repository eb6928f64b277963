# Copyright (c) invtoolbox contributors. All rights reserved.
"""Embedding Novel Views in a Single JPEG Image (Wu, Meng, Chen, ICCV 2021):
hide a multiplane image in a JPEG of the reference view, recover it, render
new views.

Networks: :class:`NovelViewJPEGNet` (:class:`NovelViewEncoder` +
:class:`NovelViewDecoder`, the official ones), the embedding's
:class:`MultiscaleDiscriminator`. Rendering: :class:`MPIRenderer` and the
functions of :mod:`.mpi_renderer`. Model: :class:`NovelViewJPEG`. Converter
of the released checkpoints: :class:`NovelViewConverter`. See
``docs/novelview.md``.
"""
from .mpi_renderer import (SAMPLINGS, MPIRenderer, camera_intrinsics,
                           check_pose, over_composite, plane_depths,
                           plane_homographies, pose_matrix, render_mpi,
                           rotation_matrix)
from .multiscale_discriminator import MultiscaleDiscriminator
from .novelview import (DEFAULT_PREPROCESSOR, NovelViewJPEG,
                        NovelViewOutput, evaluation_poses)
from .novelview_converter import NOVELVIEW_ARCHS, NovelViewConverter
from .novelview_net import (NovelViewDecoder, NovelViewEncoder,
                            NovelViewJPEGNet, check_mpi_pair)

__all__ = [
    'NovelViewJPEGNet', 'NovelViewEncoder', 'NovelViewDecoder',
    'check_mpi_pair', 'MultiscaleDiscriminator', 'MPIRenderer', 'render_mpi',
    'over_composite', 'plane_depths', 'plane_homographies', 'pose_matrix',
    'rotation_matrix', 'camera_intrinsics', 'check_pose', 'SAMPLINGS',
    'NovelViewJPEG', 'NovelViewOutput', 'evaluation_poses',
    'DEFAULT_PREPROCESSOR', 'NovelViewConverter', 'NOVELVIEW_ARCHS'
]
