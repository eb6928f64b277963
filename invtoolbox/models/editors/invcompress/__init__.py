# Copyright (c) invtoolbox contributors. All rights reserved.
"""InvCompress (ACM MM 2021): learned image compression with an invertible
analysis/synthesis transform and Cheng2020Anchor's entropy model.

The model :class:`InvCompress` (objective, real-bitstream prediction), the
network :class:`InvCompressNet` (CompressAI's API), the converter of the
official checkpoints (:class:`InvCompressConverter`). Transform pieces:
:class:`InvCompressTransform` (enhancement, INN,
attention); official key mapping: :func:`official_to_ours`,
:func:`ours_to_official`, :func:`official_config`.
"""
from .invcompress import (CHANNELS_PER_QUALITY, LAMBDAS_MS_SSIM, LAMBDAS_MSE,
                          InvCompress, check_quality, pad_to_multiple)
from .invcompress_converter import (INVCOMPRESS_ARCHS, InvCompressConverter,
                                    convert_invcompress_state_dict)
from .invcompress_keys import (official_config, official_to_ours,
                               ours_to_official)
from .invcompress_modules import (AttentionBlock, AttentionResidualUnit,
                                  DirectionalPair, EnhancementBlock,
                                  InvCompressTransform, build_invcompress_inn,
                                  invcompress_inn_blocks)
from .invcompress_net import InvCompressNet

__all__ = [
    'InvCompress', 'InvCompressNet', 'InvCompressConverter',
    'INVCOMPRESS_ARCHS', 'convert_invcompress_state_dict', 'LAMBDAS_MSE',
    'LAMBDAS_MS_SSIM', 'CHANNELS_PER_QUALITY', 'check_quality',
    'pad_to_multiple', 'InvCompressTransform', 'EnhancementBlock', 'AttentionBlock',
    'AttentionResidualUnit', 'DirectionalPair', 'build_invcompress_inn',
    'invcompress_inn_blocks', 'official_to_ours', 'ours_to_official',
    'official_config'
]
