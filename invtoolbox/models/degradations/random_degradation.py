# Copyright (c) invtoolbox contributors. All rights reserved.
"""Random choice among degradations (and among qualities of one codec)."""
import copy
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn

from invtoolbox.registry import DEGRADATIONS


@DEGRADATIONS.register_module()
class Identity(nn.Module):
    """The "no degradation" option, e.g. inside :class:`RandomDegradation`.

    Shapes:
        - Input: any tensor (typically ``(N, 3, H, W)`` in ``[0, 1]``).
        - Output: the input itself (same object).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _describe(cfg: dict) -> str:
    args = ', '.join(f'{k}={v!r}' for k, v in cfg.items() if k != 'type')
    return f"{cfg['type']}({args})"


@DEGRADATIONS.register_module()
class RandomDegradation(nn.Module):
    """Apply one degradation chosen at random per call (i.e. per batch).

    Every entry of ``degradations`` is a config dict of a ``DEGRADATIONS``
    module. An entry whose ``quality`` is a list or tuple is expanded into
    one candidate per quality, sharing the entry's probability equally::

        dict(type='RandomDegradation', degradations=[
            dict(type='RealJPEG', quality=[30, 50, 70, 90]),  # 4 candidates
            dict(type='RealWebP', quality=75),
            dict(type='Identity'),
        ], probs=[0.5, 0.25, 0.25])
        # -> RealJPEG q30/q50/q70/q90 with p = 0.125 each, WebP 0.25, none 0.25

    Args:
        degradations (list[dict | nn.Module]): the candidates (config dicts,
            or already built modules).
        probs (list[float], optional): probability of each entry of
            ``degradations`` (before the quality expansion); non-negative,
            summing to 1. Default: uniform over the entries.
        seed (int, optional): if given, choices are drawn from a private
            ``torch.Generator`` seeded with it (reproducible independently of
            the global RNG); otherwise from the global torch RNG.

    Attributes:
        names (list[str]): a readable name of every candidate, e.g.
            ``"RealJPEG(quality=30)"``.
        candidate_probs (Tensor): probability of every candidate.
        last_index (int | None): index of the candidate used by the last
            call (for inspection); ``last_name`` and ``last_degradation``
            give its name and module. To use the chosen module's other
            outputs (e.g. a real codec's :meth:`~RealCodecBase.code`), call
            :meth:`choose` and the module yourself.

    Shapes:
        - Input: ``(N, 3, H, W)`` float RGB in ``[0, 1]``.
        - Output: what the chosen degradation returns (same layout).
    """

    def __init__(self,
                 degradations: Sequence[Union[dict, nn.Module]],
                 probs: Optional[Sequence[float]] = None,
                 seed: Optional[int] = None) -> None:
        super().__init__()
        name = type(self).__name__
        if not isinstance(degradations, (list, tuple)) or not degradations:
            raise ValueError(
                f'{name}: degradations must be a non-empty list of config '
                f"dicts, got {degradations!r}; e.g. [dict(type='RealJPEG', "
                'quality=75)].')
        if probs is None:
            probs = [1. / len(degradations)] * len(degradations)
        if len(probs) != len(degradations):
            raise ValueError(
                f'{name}: got {len(probs)} probs for {len(degradations)} '
                'degradations; give one probability per entry (or None for '
                'uniform).')
        probs = [float(p) for p in probs]
        if min(probs) < 0 or abs(sum(probs) - 1) > 1e-4:
            raise ValueError(
                f'{name}: probs must be non-negative and sum to 1, got '
                f'{probs}; normalise them.')

        modules, names, cand_probs = [], [], []
        for entry, prob in zip(degradations, probs):
            if isinstance(entry, nn.Module):
                modules.append(entry)
                names.append(f'{type(entry).__name__}({entry.extra_repr()})')
                cand_probs.append(prob)
                continue
            if not isinstance(entry, dict) or 'type' not in entry:
                raise ValueError(
                    f'{name}: every degradation must be a config dict with a '
                    f"'type' key or an nn.Module, got {entry!r}.")
            if DEGRADATIONS.get(entry['type']) is None:
                known = ', '.join(sorted(DEGRADATIONS.module_dict))
                raise ValueError(
                    f"{name}: unknown degradation type {entry['type']!r}; "
                    f'registered ones: {known}.')
            qualities = entry.get('quality')
            if isinstance(qualities, (list, tuple)):
                if not qualities:
                    raise ValueError(
                        f'{name}: empty quality list in {entry!r}; give at '
                        'least one quality.')
                expanded = []
                for quality in qualities:
                    cfg = copy.deepcopy(dict(entry))
                    cfg['quality'] = quality
                    expanded.append(cfg)
            else:
                expanded = [copy.deepcopy(dict(entry))]
            for cfg in expanded:
                names.append(_describe(cfg))
                modules.append(DEGRADATIONS.build(cfg))
                cand_probs.append(prob / len(expanded))
        self.degradations = nn.ModuleList(modules)
        self.names: List[str] = names
        self.candidate_probs = torch.tensor(cand_probs, dtype=torch.float64)
        self.seed = seed
        self.generator = None
        if seed is not None:
            self.generator = torch.Generator().manual_seed(int(seed))
        self.last_index: Optional[int] = None

    @property
    def last_name(self) -> Optional[str]:
        """Name of the candidate used by the last call (None before)."""
        return None if self.last_index is None else self.names[self.last_index]

    @property
    def last_degradation(self) -> Optional[nn.Module]:
        """Module used by the last call (None before)."""
        return None if self.last_index is None else self.degradations[
            self.last_index]

    def choose(self, generator: Optional[torch.Generator] = None) -> int:
        """Draw the index of a candidate (CPU generator; the module's own
        one when ``seed`` was given, else the global RNG)."""
        generator = generator if generator is not None else self.generator
        return int(
            torch.multinomial(self.candidate_probs, 1,
                              generator=generator).item())

    def forward(self,
                x: torch.Tensor,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Apply one randomly chosen degradation to the whole batch.

        Args:
            x (Tensor): ``(N, 3, H, W)`` images in ``[0, 1]``.
            generator (torch.Generator, optional): a CPU generator to draw
                this choice from (overrides ``seed``).
        """
        index = self.choose(generator)
        self.last_index = index
        return self.degradations[index](x)

    def extra_repr(self) -> str:
        pairs = ', '.join(
            f'{n}: {p:.3g}'
            for n, p in zip(self.names, self.candidate_probs.tolist()))
        return f'candidates=[{pairs}], seed={self.seed}'
