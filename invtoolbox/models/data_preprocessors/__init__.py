# Copyright (c) invtoolbox contributors. All rights reserved.
from .data_preprocessor import DataPreprocessor

__all__ = ['DataPreprocessor']
