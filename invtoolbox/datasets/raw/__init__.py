# Copyright (c) invtoolbox contributors. All rights reserved.
"""Camera RAW: reading (rawpy/LibRaw), demosaicing, the Invertible-ISP
normalisation, DNG writing and a synthetic camera for data without downloads."""
from .metadata import CFA_PATTERNS, RawMetadata

__all__ = ['RawMetadata', 'CFA_PATTERNS']
