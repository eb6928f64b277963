# Copyright (c) invtoolbox contributors. All rights reserved.
"""Exceptions raised for bad user input.

Every error that a user can cause (a wrong path, a wrong shape, a wrong
checkpoint) is raised as a subclass of :class:`InvToolboxError` or as a plain
``ValueError`` / ``FileNotFoundError`` whose one-line message names the
offending file or value, what was expected and how to fix it.
"""


class InvToolboxError(Exception):
    """Base class of the errors raised by invtoolbox for bad input."""


class ShapeError(InvToolboxError, ValueError):
    """A tensor or image has a shape that the module cannot take."""


class PluginImportError(InvToolboxError, ImportError):
    """A plugin declared in the ``invtoolbox.plugins`` entry-point group failed to import."""


class DataError(InvToolboxError, ValueError):
    """A dataset, its pipeline or its files do not fit (too few frames, a missing
    view, images of different sizes, an empty split, ...)."""


class RawFormatError(InvToolboxError, ValueError):
    """A file is not a camera RAW that the pipeline can use (not RAW at all,
    truncated, not a Bayer sensor, an odd size, missing white balance, ...)."""


class CodecFileError(InvToolboxError, ValueError):
    """A file is not a readable invtoolbox codec file (``.itb``): not one at
    all, a newer format version, truncated, corrupted, or made with other
    weights than the model decoding it."""


class BitstreamError(InvToolboxError, ValueError):
    """A compressed bitstream cannot be decoded: it is truncated, has bytes
    left over, or is corrupt (it was not written by the matching encoder with
    the same tables)."""
