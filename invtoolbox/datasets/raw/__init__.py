# Copyright (c) invtoolbox contributors. All rights reserved.
"""Camera RAW: reading (rawpy/LibRaw), demosaicing, the Invertible-ISP
normalisation, DNG writing and a synthetic camera for data without downloads."""
from .demosaic import bilinear_demosaic, cfa_masks, mosaic
from .dng import dng_tags, write_dng
from .io import RAW_EXTENSIONS, is_raw_file, read_raw
from .isp import (apply_flip, denormalise, load_raw_input, normalise,
                  to_bayer, undo_flip, wb_gains)
from .metadata import CFA_PATTERNS, RawMetadata
from .synthetic import (SyntheticCamera, process_linear,
                        unprocess_linear)
from .targets import render_srgb_target, target_cache_path

__all__ = [
    'RawMetadata', 'CFA_PATTERNS', 'read_raw', 'is_raw_file',
    'RAW_EXTENSIONS', 'bilinear_demosaic', 'mosaic', 'cfa_masks',
    'normalise', 'denormalise', 'to_bayer', 'apply_flip', 'undo_flip',
    'load_raw_input', 'wb_gains',
    'render_srgb_target', 'target_cache_path', 'write_dng', 'dng_tags',
    'SyntheticCamera', 'process_linear', 'unprocess_linear'
]
