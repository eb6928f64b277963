# Copyright (c) invtoolbox contributors. All rights reserved.
from .data_sample import DataSample

__all__ = ['DataSample']
