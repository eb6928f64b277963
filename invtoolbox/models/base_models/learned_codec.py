# Copyright (c) invtoolbox contributors. All rights reserved.
"""The *learned codec* capability: compress to bitstreams, decompress,
build the entropy coder's tables, train the entropy models' auxiliary
parameters with their own optimizer."""
from __future__ import annotations

import fnmatch
from typing import Dict, Iterator, Sequence, Tuple

import torch
from mmengine.optim import OptimWrapperDict
from torch import Tensor, nn

__all__ = ['LearnedCodecMixin', 'match_parameter_names', 'codec_padding']


def codec_padding(height: int, width: int,
                  multiple: int) -> Tuple[int, int, int, int]:
    """(top, bottom, left, right) zero padding that brings ``height`` x
    ``width`` to multiples of ``multiple``, split evenly (the odd row or
    column at the bottom / right), as the official InvCompress evaluation
    pads."""
    new_h = -(-height // multiple) * multiple
    new_w = -(-width // multiple) * multiple
    top, left = (new_h - height) // 2, (new_w - width) // 2
    return top, new_h - height - top, left, new_w - width - left


def match_parameter_names(name: str, patterns: Sequence[str]) -> bool:
    """Whether the parameter ``name`` (e.g.
    ``'generator.entropy_bottleneck.quantiles'``) matches one of the
    ``fnmatch`` ``patterns`` (e.g. ``'*.quantiles'``)."""
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


class LearnedCodecMixin:
    """Capability of learned image codecs (InvCompress and the entropy
    models of ``invtoolbox.models.entropy_models``).

    The network (``model.generator``) speaks CompressAI's API, which its
    users know::

        out = net(x)            # {'x_hat': ..., 'likelihoods': {'y': ..., 'z': ...}}
        net.update(force=False) # build the integer CDF tables of the entropy coder
        enc = net.compress(x)   # {'strings': [[bytes] per latent], 'shape': (h, w)}
        dec = net.decompress(enc['strings'], enc['shape'])   # {'x_hat': ...}

    and the model offers the same calls (delegating to the network by
    default) plus :meth:`aux_loss`, the loss of the entropy models' own
    parameters (the factorized prior's ``quantiles``) that a second
    optimizer minimises. Which parameters are auxiliary is said by name:
    :attr:`AUX_PARAMETERS` (``fnmatch`` patterns on
    ``model.named_parameters()``). The optimizers are configured with
    :class:`~invtoolbox.engine.MultiOptimWrapperConstructor`, selecting
    parameters by the same patterns::

        optim_wrapper = dict(
            constructor='MultiOptimWrapperConstructor',
            main=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4),
                      exclude=['*.quantiles']),
            aux=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3),
                     params=['*.quantiles']))

    :meth:`train_step_multi` then runs one step of ``main`` on the model's
    losses and one of ``aux`` on :meth:`aux_loss`, after checking that
    ``main`` holds exactly the non-auxiliary trainable parameters and
    ``aux`` exactly the auxiliary ones. List this mixin before the base
    model (``class MyCodec(LearnedCodecMixin, BaseEditModel)``).
    """

    #: ``fnmatch`` patterns of the auxiliary parameters' names.
    AUX_PARAMETERS: Tuple[str, ...] = ('*.quantiles', )
    #: the names of the two optimizers in the ``OptimWrapperDict``.
    MAIN_OPTIMIZER = 'main'
    AUX_OPTIMIZER = 'aux'

    # -- CompressAI's API (delegated to the network by default) -----------------
    def update(self, force: bool = False) -> bool:
        """Build or refresh the entropy coder's integer CDF tables; returns
        whether anything was updated."""
        return bool(self.generator.update(force=force))

    @torch.no_grad()
    def compress(self, x: Tensor) -> dict:
        """Images ``(N, 3, H, W)`` in ``[0, 1]`` -> ``{'strings': ...,
        'shape': ...}`` (real bitstreams)."""
        return self.generator.compress(x)

    @torch.no_grad()
    def decompress(self, strings, shape) -> dict:
        """Bitstreams -> ``{'x_hat': (N, 3, H, W)}``."""
        return self.generator.decompress(strings, shape)

    def aux_loss(self) -> Tensor:
        """The auxiliary loss of the entropy models (a scalar)."""
        raise NotImplementedError

    # -- parameters -----------------------------------------------------------
    def named_aux_parameters(self) -> Iterator[Tuple[str, nn.Parameter]]:
        """The trainable parameters matched by :attr:`AUX_PARAMETERS`."""
        for name, param in self.named_parameters():
            if param.requires_grad and match_parameter_names(
                    name, self.AUX_PARAMETERS):
                yield name, param

    def named_main_parameters(self) -> Iterator[Tuple[str, nn.Parameter]]:
        """The other trainable parameters."""
        for name, param in self.named_parameters():
            if param.requires_grad and not match_parameter_names(
                    name, self.AUX_PARAMETERS):
                yield name, param

    def check_codec_optimizers(self, optim_wrapper: OptimWrapperDict) -> None:
        """One-line error unless the ``main`` optimizer holds exactly the
        non-auxiliary trainable parameters and ``aux`` exactly the
        auxiliary ones (a parameter in both would be pulled two ways, one
        in neither would never train)."""
        name = type(self).__name__
        wanted = {
            self.MAIN_OPTIMIZER: dict(self.named_main_parameters()),
            self.AUX_OPTIMIZER: dict(self.named_aux_parameters()),
        }
        if not wanted[self.AUX_OPTIMIZER]:
            raise ValueError(
                f'{name}: no parameter matches AUX_PARAMETERS '
                f'{list(self.AUX_PARAMETERS)}; the auxiliary optimizer would '
                'train nothing.')
        for key, params in wanted.items():
            held = {
                id(p)
                for group in optim_wrapper[key].optimizer.param_groups
                for p in group['params']
            }
            ids = {id(p): n for n, p in params.items()}
            missing = [n for i, n in ids.items() if i not in held]
            extra = len(held - set(ids))
            if missing or extra:
                detail = (f'it lacks {missing[:3]}' if missing else
                          f'it holds {extra} parameter(s) of the other '
                          'optimizer')
                select = ('exclude' if key == self.MAIN_OPTIMIZER else
                          'params')
                raise ValueError(
                    f"{name}: the '{key}' optimizer must hold exactly the "
                    f"{'non-' if key == self.MAIN_OPTIMIZER else ''}"
                    f'auxiliary parameters ({detail}); set {select}='
                    f'{list(self.AUX_PARAMETERS)} in its optim_wrapper entry.')

    # -- training -------------------------------------------------------------
    def train_step_multi(self, data: dict,
                         optim_wrapper: OptimWrapperDict
                         ) -> Dict[str, Tensor]:
        """One step of the ``main`` optimizer on the model's losses, then
        one of the ``aux`` optimizer on :meth:`aux_loss`; returns the log
        variables (``loss_aux`` included)."""
        self.check_optim_wrappers(optim_wrapper,
                                  [self.MAIN_OPTIMIZER, self.AUX_OPTIMIZER])
        self.check_codec_optimizers(optim_wrapper)
        log_vars = self.optimizer_step(
            optim_wrapper[self.MAIN_OPTIMIZER], self,
            lambda: self._run_forward(data, mode='loss'))
        aux_vars = self.optimizer_step(
            optim_wrapper[self.AUX_OPTIMIZER], self,
            lambda: dict(loss_aux=self.aux_loss()))
        log_vars['loss_aux'] = aux_vars['loss_aux']
        return log_vars
