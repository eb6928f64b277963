"""invtb_exposure: an example third-party invtoolbox plugin.

Importing the package registers

- ``ExposureBracketEmbedding`` in ``invtoolbox.registry.TASKS``: embed three
  exposures of a scene (-1, 0, +1 EV) into one image that looks like their
  exposure fusion, and restore all three from it;
- ``SimulateExposureBracket`` in ``invtoolbox.registry.TRANSFORMS``: makes
  the bracket from one ordinary photograph, so any image folder is training
  data.
"""
from .task import ExposureBracketEmbedding
from .transforms import SimulateExposureBracket

__all__ = ['ExposureBracketEmbedding', 'SimulateExposureBracket']
__version__ = '0.1.0'
