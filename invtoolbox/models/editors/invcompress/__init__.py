# Copyright (c) invtoolbox contributors. All rights reserved.
"""InvCompress (ACM MM 2021): learned image compression with an invertible
analysis/synthesis transform and Cheng2020Anchor's entropy model.

Transform pieces: :class:`InvCompressTransform` (enhancement, INN,
attention); official key mapping: :func:`official_to_ours`,
:func:`ours_to_official`, :func:`official_config`.
"""
from .invcompress_keys import (official_config, official_to_ours,
                               ours_to_official)
from .invcompress_modules import (AttentionBlock, AttentionResidualUnit,
                                  DirectionalPair, EnhancementBlock,
                                  InvCompressTransform, build_invcompress_inn,
                                  invcompress_inn_blocks)

__all__ = [
    'InvCompressTransform', 'EnhancementBlock', 'AttentionBlock',
    'AttentionResidualUnit', 'DirectionalPair', 'build_invcompress_inn',
    'invcompress_inn_blocks', 'official_to_ours', 'ours_to_official',
    'official_config'
]
