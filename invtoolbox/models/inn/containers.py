# Copyright (c) invtoolbox contributors. All rights reserved.
"""Containers: :class:`InvertibleSequential` and :class:`Inverse`."""
from __future__ import annotations

import inspect
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from ...errors import ShapeError
from ...registry import COUPLINGS, INV_BLOCKS
from .base import InvertibleModule
from .memory import invertible_chain
from .reshapes import ChannelSplit

__all__ = ['InvertibleSequential', 'Inverse', 'build_invertible']

BlockCfg = Union[dict, nn.Module]


def _lookup(type_name):
    if inspect.isclass(type_name):
        return type_name
    for registry in (COUPLINGS, INV_BLOCKS):
        cls = registry.get(type_name)
        if cls is not None:
            return cls
    known = sorted(set(COUPLINGS.module_dict) | set(INV_BLOCKS.module_dict))
    raise KeyError(f'{type_name!r} is not a registered coupling or invertible '
                   f'block; registered: {", ".join(known)}.')


def build_invertible(cfg: BlockCfg,
                     channels: Optional[int] = None) -> InvertibleModule:
    """Build an invertible module from a config dict (``COUPLINGS`` or ``INV_BLOCKS``).

    ``channels`` is filled in when the config does not set it and the class
    takes a ``channels`` argument. Already built modules are returned as-is.
    """
    if isinstance(cfg, nn.Module):
        if not isinstance(cfg, InvertibleModule):
            raise TypeError(f'{type(cfg).__name__} is not an InvertibleModule;'
                            ' only invertible blocks can be chained.')
        return cfg
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError('an invertible block must be given as a config dict '
                        f"with a 'type' key or a module, got {cfg!r}.")
    args = dict(cfg)
    cls = _lookup(args.pop('type'))
    if (channels is not None and 'channels' not in args
            and 'channels' in inspect.signature(cls).parameters):
        args['channels'] = channels
    return cls(**args)


@INV_BLOCKS.register_module()
class Inverse(InvertibleModule):
    """The inverse of an invertible module: ``Inverse(m)(x) == m(x, rev=True)``.

    Args:
        module (dict | InvertibleModule): the module to invert, or its config.
        channels (int, optional): when ``module`` is a config without
            ``channels``, the value filled in (the channels of the *wrapped*
            module's forward input).
    """

    def __init__(self, module: BlockCfg, channels: Optional[int] = None):
        inner = build_invertible(module, channels)
        super().__init__(inner.out_channels)
        self.module = inner

    @property
    def out_channels(self) -> Optional[int]:
        return self.module.channels

    @property
    def memory_efficient_safe(self) -> bool:
        return getattr(self.module, 'memory_efficient_safe', True)

    def output_shape(self, in_shape):
        self._check_shape(in_shape, self.channels, 'input')
        return self.module.input_shape(in_shape)

    def input_shape(self, out_shape):
        return self.module.output_shape(out_shape)

    def forward(self, x, rev=False, jac=False, c=None):
        # The wrapped module validates its own inputs (tensors or, for
        # ChannelSplit, tuples of tensors).
        return self.module(x, rev=not rev, jac=jac, c=c)


@INV_BLOCKS.register_module()
class InvertibleSequential(InvertibleModule):
    """A chain of invertible blocks built from config dicts and an input shape.

    Each block config is completed with the current channel count
    (``channels``), built from ``COUPLINGS`` or ``INV_BLOCKS``, and the shape
    after it is inferred and validated; ``self.shapes`` lists the (C, H, W)
    shapes from the input to the output (``len(blocks) + 1`` entries). The
    inverse runs the blocks backwards. Indexing returns a block, slicing a
    new :class:`InvertibleSequential` sharing the blocks.

    Example::

        inn = InvertibleSequential(
            [dict(type='HaarDownsampling')] +
            [dict(type='AffineCoupling', split=3)] * 8,
            in_shape=(3, 64, 64))
        y, logdet = inn(x, jac=True)
        x_rec = inn(y, rev=True)

    Args:
        blocks (list[dict | InvertibleModule]): the blocks, in forward order.
        in_shape (tuple[int, int, int]): (C, H, W) of the input, no batch.
        memory_efficient (bool): in training, recompute block inputs from
            outputs in backward instead of storing activations (see
            :mod:`invtoolbox.models.inn.memory`). Results equal the plain
            mode's within float32 rounding. Blocks that expose intermediate
            tensors (``memory_efficient_safe = False``, e.g. SAIN's
            :class:`EnhancedAffineCoupling`) run with ordinary autograd.
    """

    def __init__(self,
                 blocks: Sequence[BlockCfg],
                 in_shape: Sequence[int],
                 memory_efficient: bool = False) -> None:
        in_shape = tuple(int(v) for v in in_shape)
        if len(in_shape) != 3:
            raise ShapeError('InvertibleSequential: in_shape must be (C, H, W)'
                             f' without the batch dimension, got {in_shape}.')
        super().__init__(in_shape[0])
        self.memory_efficient = bool(memory_efficient)
        self.blocks = nn.ModuleList()
        shapes: List[Tuple[int, int, int]] = [in_shape]
        for i, cfg in enumerate(blocks):
            block = build_invertible(cfg, shapes[-1][0])
            if isinstance(block, ChannelSplit):
                raise TypeError(
                    'InvertibleSequential: ChannelSplit returns several '
                    'tensors and cannot be chained; split after the sequence.')
            try:
                shapes.append(tuple(block.output_shape(shapes[-1])))
            except ShapeError as err:
                raise ShapeError(f'InvertibleSequential block {i} '
                                 f'({type(block).__name__}): {err}') from None
            self.blocks.append(block)
        self.shapes = shapes

    # -- sequence protocol ---------------------------------------------------
    def __len__(self) -> int:
        return len(self.blocks)

    def __iter__(self) -> Iterator[nn.Module]:
        return iter(self.blocks)

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, _, step = index.indices(len(self.blocks))
            if step != 1:
                raise ValueError('InvertibleSequential slices must be '
                                 'contiguous (step 1).')
            return InvertibleSequential(
                list(self.blocks)[index],
                self.shapes[start] if len(self.blocks) else self.shapes[0],
                memory_efficient=self.memory_efficient)
        return self.blocks[index]

    # -- shapes ----------------------------------------------------------------
    @property
    def out_channels(self) -> int:
        return self.shapes[-1][0]

    @property
    def memory_efficient_safe(self) -> bool:
        return all(
            getattr(b, 'memory_efficient_safe', True) for b in self.blocks)

    def output_shape(self, in_shape):
        self._check_shape(in_shape, self.channels, 'input')
        shape = tuple(in_shape)
        for block in self.blocks:
            shape = tuple(block.output_shape(shape))
        return shape

    def input_shape(self, out_shape):
        shape = tuple(out_shape)
        for block in reversed(self.blocks):
            shape = tuple(block.input_shape(shape))
        return shape

    # -- running ---------------------------------------------------------------
    @staticmethod
    def _segments(blocks: Sequence[nn.Module]):
        """Consecutive runs of blocks: (use_memory_saving, [blocks])."""
        segments: List[Tuple[bool, List[nn.Module]]] = []
        for block in blocks:
            safe = getattr(block, 'memory_efficient_safe', True)
            if segments and segments[-1][0] == safe:
                segments[-1][1].append(block)
            else:
                segments.append((safe, [block]))
        return segments

    def _needs_memory_saving(self, x: Tensor, c: Optional[Tensor],
                             blocks: Sequence[nn.Module]) -> bool:
        if not (self.memory_efficient and torch.is_grad_enabled()):
            return False
        if x.requires_grad or (c is not None and c.requires_grad):
            return True
        return any(p.requires_grad for b in blocks for p in b.parameters())

    def run(self,
            x: Tensor,
            start: int = 0,
            stop: Optional[int] = None,
            rev: bool = False,
            jac: bool = False,
            c: Optional[Tensor] = None,
            logdet: Optional[Tensor] = None
            ) -> Tuple[Tensor, Optional[Tensor]]:
        """Run the blocks ``start:stop`` (their inverses, backwards, when
        ``rev``), in memory-efficient mode when the chain has it.

        This is how a network takes an intermediate result out of a chain
        without any block keeping state: run the part before it, the block
        itself, then the part after it.

        Args:
            x (Tensor): input of the first block run (of the last one
                when ``rev``).
            start, stop (int): the block range, as in ``blocks[start:stop]``.
            rev (bool): run the inverses.
            jac (bool): accumulate the log-determinant.
            c (Tensor, optional): condition passed to every block.
            logdet (Tensor, optional): the log-determinant so far ``(N,)``,
                to continue a sum across ranges in the order of a single
                run. Default: zeros.

        Returns:
            tuple[Tensor, Tensor | None]: the output and the accumulated
            log-determinant (None unless ``jac``).
        """
        blocks = list(self.blocks)[start:stop]
        if jac and logdet is None:
            logdet = x.new_zeros(x.shape[0])
        if not jac:
            logdet = None
        if self._needs_memory_saving(x, c, blocks):
            segments = self._segments(blocks)
        else:
            segments = [(False, blocks)]
        for saving, part in (reversed(segments) if rev else segments):
            if saving:
                result = invertible_chain(part, x, rev=rev, jac=jac, c=c)
                x, ld = result if jac else (result, None)
                logdet = logdet + ld if jac else None
                continue
            for block in (reversed(part) if rev else part):
                if jac:
                    x, ld = block(x, rev=rev, jac=True, c=c)
                    logdet = logdet + ld
                else:
                    x = block(x, rev=rev, c=c)
        return x, logdet

    def _forward(self, x, c, jac):
        return self.run(x, rev=False, jac=jac, c=c)

    def _inverse(self, y, c, jac):
        return self.run(y, rev=True, jac=jac, c=c)

    def extra_repr(self) -> str:
        return (f'in_shape={self.shapes[0]}, out_shape={self.shapes[-1]}, '
                f'memory_efficient={self.memory_efficient}')
