# Copyright (c) invtoolbox contributors. All rights reserved.
"""Base models and what every editor shares (placeholder until the base
models land; import modules of this package by their full path)."""
