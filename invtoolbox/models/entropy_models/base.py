# Copyright (c) invtoolbox contributors. All rights reserved.
"""The entropy-model base class: quantisation, integer CDF tables and
coding to bytes, as CompressAI 1.1.1's ``EntropyModel`` (its
``entropy_models.py``), coded with :mod:`.ans` (constriction) instead of
CompressAI's compiled rANS."""
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from ...errors import ShapeError
from .ans import AnsDecoder, AnsEncoder, CdfTable
from .lower_bound import LowerBound

__all__ = ['EntropyModel']

QUANTIZE_MODES = ('noise', 'dequantize', 'symbols')


class EntropyModel(nn.Module):
    """Base of :class:`EntropyBottleneck` and :class:`GaussianConditional`.

    Holds the integer tables that ``update()`` fills, as int32 buffers with
    CompressAI's state-dict keys: ``_quantized_cdf`` ``(K, W)`` (row ``k`` a
    16-bit CDF of ``_cdf_length[k]`` entries, the last interval the escape
    symbol), ``_cdf_length`` ``(K,)`` and ``_offset`` ``(K,)`` (the symbol
    of value 0 of each row). They are empty until ``update()`` runs and
    take the shape of whatever state dict is loaded, so training
    checkpoints (empty tables) and updated ones (filled) both load.

    Args:
        likelihood_bound (float): likelihoods are bounded below by it (a
            :class:`LowerBound` submodule ``likelihood_lower_bound``);
            ``<= 0`` disables the bound.
    """

    #: bits of the CDF tables (the coder handles exactly 16).
    entropy_coder_precision = 16
    #: buffers whose shape follows the loaded state dict.
    _resizable_buffers: Tuple[str, ...] = ('_offset', '_quantized_cdf',
                                           '_cdf_length')

    def __init__(self, likelihood_bound: float = 1e-9):
        super().__init__()
        self.use_likelihood_bound = likelihood_bound > 0
        if self.use_likelihood_bound:
            self.likelihood_lower_bound = LowerBound(likelihood_bound)
        self.register_buffer('_offset', torch.zeros(0, dtype=torch.int32))
        self.register_buffer('_quantized_cdf', torch.zeros(0,
                                                           dtype=torch.int32))
        self.register_buffer('_cdf_length', torch.zeros(0, dtype=torch.int32))
        self._table_cache = None

    @property
    def offset(self) -> Tensor:
        return self._offset

    @property
    def quantized_cdf(self) -> Tensor:
        return self._quantized_cdf

    @property
    def cdf_length(self) -> Tensor:
        return self._cdf_length

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    # -- state dict ---------------------------------------------------------
    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                              missing_keys, unexpected_keys, error_msgs):
        # torch loads buffers in place and refuses other shapes; these
        # tables legitimately change shape (empty <-> filled), so the
        # buffer takes the incoming shape first (CompressAI's
        # update_registered_buffers, for every shape change).
        for name in self._resizable_buffers:
            incoming = state_dict.get(prefix + name)
            current = getattr(self, name)
            if (isinstance(incoming, Tensor)
                    and incoming.shape != current.shape):
                setattr(
                    self, name,
                    torch.empty(incoming.shape,
                                dtype=current.dtype,
                                device=current.device))
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    # -- quantisation -------------------------------------------------------
    def quantize(self,
                 inputs: Tensor,
                 mode: str,
                 means: Optional[Tensor] = None) -> Tensor:
        """CompressAI's quantisation.

        Args:
            inputs (Tensor): any shape, float.
            mode (str): ``'noise'``: ``inputs + U(-0.5, 0.5)`` (training;
                ``means`` unused; drawn with
                ``torch.empty_like(inputs).uniform_``, so the global RNG
                gives the official noise); ``'dequantize'``:
                ``round(inputs - means) + means``; ``'symbols'``:
                ``round(inputs - means)`` as int32.
            means (Tensor, optional): broadcastable to ``inputs``.
        """
        if mode not in QUANTIZE_MODES:
            raise ValueError(f'quantize mode must be one of {QUANTIZE_MODES},'
                             f' got {mode!r}')
        if mode == 'noise':
            noise = torch.empty_like(inputs).uniform_(-0.5, 0.5)
            return inputs + noise
        outputs = inputs.clone()
        if means is not None:
            outputs = outputs - means
        outputs = torch.round(outputs)
        if mode == 'dequantize':
            if means is not None:
                outputs = outputs + means
            return outputs
        return outputs.int()

    @staticmethod
    def dequantize(symbols: Tensor, means: Optional[Tensor] = None) -> Tensor:
        """Symbols back to values: ``symbols + means`` in the dtype of
        ``means``, or float32 without means."""
        if means is not None:
            return symbols.type_as(means) + means
        return symbols.float()

    # -- tables -------------------------------------------------------------
    def _check_tables(self) -> None:
        cdf, lengths, offsets = (self._quantized_cdf, self._cdf_length,
                                 self._offset)
        if cdf.numel() == 0 or lengths.numel() == 0 or offsets.numel() == 0:
            raise ValueError(f'{type(self).__name__} has no CDF tables yet: '
                             'call update() (update(force=True) after '
                             'training) before compress/decompress')
        if cdf.dim() != 2 or lengths.dim() != 1 or offsets.dim() != 1:
            raise ValueError(
                f'{type(self).__name__} tables have the wrong ranks: '
                f'_quantized_cdf {tuple(cdf.shape)} (expected 2-D), '
                f'_cdf_length {tuple(lengths.shape)}, _offset '
                f'{tuple(offsets.shape)} (expected 1-D); run update(force='
                'True)')

    def cdf_table(self) -> CdfTable:
        """The tables prepared for :class:`AnsEncoder`/:class:`AnsDecoder`
        (cached until the buffers change)."""
        self._check_tables()
        buffers = (self._quantized_cdf, self._cdf_length, self._offset)
        key = tuple(b._version for b in buffers)
        cache = self._table_cache
        if (cache is None or any(a is not b for a, b in zip(cache[0], buffers))
                or cache[1] != key):
            table = CdfTable(*(b.cpu() for b in buffers))
            self._table_cache = cache = (buffers, key, table)
        return cache[2]

    # -- coding -------------------------------------------------------------
    def compress(self,
                 inputs: Tensor,
                 indexes: Tensor,
                 means: Optional[Tensor] = None) -> List[bytes]:
        """Code ``round(inputs - means)`` with the table rows ``indexes``.

        Args:
            inputs (Tensor): ``(N, C, H, W)`` float.
            indexes (Tensor): ``(N, C, H, W)`` integer rows of the table.
            means (Tensor, optional): broadcastable to ``inputs``.

        Returns:
            list[bytes]: one bitstream per batch item.
        """
        if inputs.dim() != 4:
            raise ShapeError(f'inputs must be 4-D (N, C, H, W), got shape '
                             f'{tuple(inputs.shape)}')
        if inputs.shape != indexes.shape:
            raise ShapeError(f'inputs {tuple(inputs.shape)} and indexes '
                             f'{tuple(indexes.shape)} must have the same '
                             'shape')
        table = self.cdf_table()
        symbols = self.quantize(inputs, 'symbols', means).cpu().numpy()
        indexes = indexes.detach().cpu().numpy()
        strings = []
        for item_symbols, item_indexes in zip(symbols, indexes):
            encoder = AnsEncoder()
            encoder.encode(item_symbols, item_indexes, table)
            strings.append(encoder.finish())
        return strings

    def decompress(self,
                   strings: Sequence[bytes],
                   indexes: Tensor,
                   means: Optional[Tensor] = None) -> Tensor:
        """Decode bitstreams of :meth:`compress`.

        Args:
            strings (list[bytes]): one per batch item.
            indexes (Tensor): ``(N, C, H, W)`` integer rows used to code.
            means (Tensor, optional): ``(N, C, H, W)`` or ``(N, C, 1, 1)``.

        Returns:
            Tensor: ``symbols + means`` (float), shape of ``indexes``.
        """
        if not isinstance(strings, (list, tuple)):
            raise ValueError(f'strings must be a list of bytes, got '
                             f'{type(strings).__name__}')
        if indexes.dim() != 4:
            raise ShapeError(f'indexes must be 4-D (N, C, H, W), got shape '
                             f'{tuple(indexes.shape)}')
        if len(strings) != indexes.shape[0]:
            raise ValueError(f'got {len(strings)} strings for a batch of '
                             f'{indexes.shape[0]} indexes; pass one string '
                             'per batch item')
        if means is not None and (means.shape[:2] != indexes.shape[:2] or
                                  (means.shape != indexes.shape
                                   and means.shape[2:] != (1, 1))):
            raise ShapeError(f'means {tuple(means.shape)} must be '
                             f'{tuple(indexes.shape)} or '
                             f'{tuple(indexes.shape[:2]) + (1, 1)}')
        table = self.cdf_table()
        flat = indexes.detach().cpu().numpy().reshape(len(strings), -1)
        symbols = torch.zeros(flat.shape, dtype=torch.int32)
        for item, (string, item_indexes) in enumerate(zip(strings, flat)):
            decoder = AnsDecoder(string)
            symbols[item] = torch.from_numpy(
                decoder.decode(item_indexes, table))
            decoder.finish()
        symbols = symbols.reshape(indexes.shape).to(indexes.device)
        return self.dequantize(symbols, means)
