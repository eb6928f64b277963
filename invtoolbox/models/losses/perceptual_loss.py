# Copyright (c) invtoolbox contributors. All rights reserved.
"""Perceptual (feature-space) loss and the VGG feature extractor it uses."""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Union

import torch
from torch import Tensor, nn

from ...registry import LOSSES
from ...utils.checkpoint_trust import CheckpointError, load_weights_only
from .utils import check_pair, check_reduction

__all__ = ['VGGFeatureExtractor', 'PerceptualLoss']

# torchvision's VGG configurations: ints are 3x3 conv widths, 'M' a 2x2 max
# pool. Each conv is followed by ReLU (conv, [bn,] relu), which fixes the
# numbering of ``features.N``.
_VGG_CFGS = {
    'vgg11': [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
    'vgg13':
    [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
    'vgg16': [
        64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M',
        512, 512, 512, 'M'
    ],
    'vgg19': [
        64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512,
        512, 'M', 512, 512, 512, 512, 'M'
    ],
}
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)

_WEIGHTS_RECIPE = (
    "on a machine with torchvision run: python -c \"import torch, "
    "torchvision; torch.save(torchvision.models.{tv}(weights='IMAGENET1K_V1')"
    ".state_dict(), '{tv}.pth')\" and copy {tv}.pth to {path!r} (see "
    'docs/latents_and_losses.md)')


def vgg_layer_names(arch: str) -> List[str]:
    """Names of ``features[i]`` for a torchvision VGG ``arch``.

    E.g. for ``'vgg19'``: ``['conv1_1', 'relu1_1', 'conv1_2', 'relu1_2',
    'pool1', ...]``; ``'vgg19_bn'`` inserts ``'bn1_1'`` after each conv.
    """
    base, bn = _split_arch(arch)
    names = []
    block, index = 1, 1
    for v in _VGG_CFGS[base]:
        if v == 'M':
            names.append(f'pool{block}')
            block, index = block + 1, 1
            continue
        names.append(f'conv{block}_{index}')
        if bn:
            names.append(f'bn{block}_{index}')
        names.append(f'relu{block}_{index}')
        index += 1
    return names


def _split_arch(arch: str):
    base = arch[:-3] if arch.endswith('_bn') else arch
    if base not in _VGG_CFGS:
        valid = tuple(_VGG_CFGS) + tuple(f'{a}_bn' for a in _VGG_CFGS)
        raise ValueError(f'VGGFeatureExtractor: unknown arch {arch!r}; use '
                         f'one of {valid}.')
    return base, arch.endswith('_bn')


@LOSSES.register_module()
class VGGFeatureExtractor(nn.Module):
    """Frozen VGG ``features`` stack returning intermediate activations.

    The layers are built here with exactly torchvision's indexing
    (``features.N``), so a torchvision VGG state dict loads unchanged; only
    ``features[0 .. max(layer_ids)]`` are built (the official IRN+ extractor
    is ``vgg19.features[:35]``, ending at ``conv5_4`` before its ReLU).
    ReLUs are not in-place, so a pre-activation feature is returned as is.

    No weights are downloaded: ``weights_path`` is a local file holding
    either a full torchvision VGG state dict (``features.*`` and
    ``classifier.*`` keys; extra keys are ignored), its ``features.*`` part,
    or ``model.features.state_dict()`` (``'0.weight'``, ...); a
    ``'state_dict'`` wrapper and a ``module.`` prefix are accepted. It is
    loaded with ``torch.load(..., weights_only=True)``. Making the file on a
    machine with torchvision::

        import torch, torchvision
        vgg = torchvision.models.vgg19(weights='IMAGENET1K_V1')
        torch.save(vgg.state_dict(), 'vgg19.pth')

    Args:
        arch (str): ``'vgg11' | 'vgg13' | 'vgg16' | 'vgg19'`` or their
            ``_bn`` variants. Default: ``'vgg19'``.
        layer_ids (Sequence[str | int]): layers to return: indices into
            ``features`` (``'34'`` or ``34``) or names (``'conv5_4'``,
            ``'relu5_4'``, ``'pool5'``). Default: ``('34',)``.
        weights_path (str, optional): local weights file (see above).
        pretrained (bool): must stay True unless ``weights_path`` is None;
            ``pretrained=False`` gives torchvision's random initialisation
            (for tests and for extractors trained from scratch).
            Default: True.
        use_input_norm (bool): normalise inputs in ``[0, 1]`` with the
            ImageNet mean/std. Default: True.
        requires_grad (bool): let the VGG weights train. Default: False
            (frozen and always in eval mode).

    Shapes:
        input ``(N, 3, H, W)`` RGB in ``[0, 1]``; output a dict
        ``{layer_id: (N, C_l, H_l, W_l)}`` keyed by the given ``layer_ids``
        (as strings).
    """

    def __init__(self,
                 arch: str = 'vgg19',
                 layer_ids: Sequence[Union[str, int]] = ('34', ),
                 weights_path: Optional[str] = None,
                 pretrained: bool = True,
                 use_input_norm: bool = True,
                 requires_grad: bool = False) -> None:
        super().__init__()
        self.arch = arch
        base, bn = _split_arch(arch)
        names = vgg_layer_names(arch)
        if isinstance(layer_ids, (str, int)):
            layer_ids = [layer_ids]
        if not layer_ids:
            raise ValueError('VGGFeatureExtractor: layer_ids is empty; pass '
                             "e.g. ('34',) or ('conv5_4',).")
        self.layer_ids = [str(i) for i in layer_ids]
        self._index = {}
        for key in self.layer_ids:
            if key.isdigit() and int(key) < len(names):
                self._index[key] = int(key)
            elif key in names:
                self._index[key] = names.index(key)
            else:
                raise ValueError(
                    f'VGGFeatureExtractor: unknown layer {key!r} for {arch}; '
                    f'use an index 0..{len(names) - 1} or a name such as '
                    f"'conv5_4' / 'relu5_4' / 'pool5'.")
        self.layer_names = names

        if pretrained and weights_path is None:
            raise ValueError(
                'VGGFeatureExtractor: weights_path is None; pass the local '
                f'torchvision {arch} weights file (no download at run time), '
                'or pretrained=False for random weights (tests only).')
        if not pretrained and weights_path is not None:
            raise ValueError(
                'VGGFeatureExtractor: pretrained=False contradicts '
                f'weights_path={weights_path!r}; drop one of them.')

        self.features = self._build_features(
            base,
            bn,
            max(self._index.values()) + 1,
            random_init=weights_path is None)

        self.use_input_norm = use_input_norm
        if use_input_norm:
            self.register_buffer(
                'mean',
                torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1),
                persistent=False)
            self.register_buffer(
                'std',
                torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1),
                persistent=False)

        if weights_path is not None:
            self.load_weights(weights_path)
        self.trainable = bool(requires_grad)
        if not requires_grad:
            self.features.requires_grad_(False)
            self.eval()

    @staticmethod
    def _build_features(base: str, bn: bool, num_layers: int,
                        random_init: bool) -> nn.Sequential:
        """torchvision's ``features[:num_layers]`` (conv, [bn,] relu / pool).

        With ``random_init`` the convs get torchvision's initialisation;
        otherwise their memory is left uninitialised for the weights file.
        """
        layers: List[nn.Module] = []
        in_channels = 3
        for v in _VGG_CFGS[base]:
            if len(layers) >= num_layers:
                break
            if v == 'M':
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                continue
            conv = nn.utils.skip_init(
                nn.Conv2d, in_channels, v, kernel_size=3, padding=1)
            if random_init:
                nn.init.kaiming_normal_(
                    conv.weight, mode='fan_out', nonlinearity='relu')
                nn.init.zeros_(conv.bias)
            layers.append(conv)
            if bn:
                layers.append(nn.BatchNorm2d(v))
            layers.append(nn.ReLU(inplace=False))
            in_channels = v
        return nn.Sequential(*layers[:num_layers])

    def train(self, mode: bool = True) -> 'VGGFeatureExtractor':
        """A frozen extractor stays in eval mode (BatchNorm statistics)."""
        return super().train(mode and getattr(self, 'trainable', True))

    def load_weights(self, weights_path: str) -> None:
        """Load a local torchvision VGG state dict (see the class doc)."""
        tv_name = self.arch
        weights_path = os.path.expanduser(os.fspath(weights_path))
        if not os.path.isfile(weights_path):
            raise FileNotFoundError(
                f'VGGFeatureExtractor: weights file {weights_path!r} not '
                'found; ' +
                _WEIGHTS_RECIPE.format(tv=tv_name, path=weights_path))
        try:
            state = load_weights_only(weights_path, 'VGG weights file')
        except CheckpointError as err:  # unpickling error, corrupt file, ...
            raise ValueError(
                f'VGGFeatureExtractor: {err} Save the weights with '
                'torch.save(model.state_dict(), path).') from None
        if isinstance(state, dict) and isinstance(
                state.get('state_dict'), dict):
            state = state['state_dict']
        if not isinstance(state, dict):
            raise ValueError(f'VGGFeatureExtractor: {weights_path!r} holds a '
                             f'{type(state).__name__}, not a state dict.')
        state = {
            (k[len('module.'):] if k.startswith('module.') else k): v
            for k, v in state.items()
        }
        if any(k.startswith('features.') for k in state):
            state = {
                k[len('features.'):]: v
                for k, v in state.items() if k.startswith('features.')
            }
        wanted = self.features.state_dict()
        missing = [k for k in wanted if k not in state]
        if missing:
            raise ValueError(
                f'VGGFeatureExtractor: {weights_path!r} lacks {len(missing)} '
                f'{self.arch} feature tensors (e.g. features.{missing[0]}); '
                f'is it a torchvision {self.arch} state dict?')
        for key, value in wanted.items():
            if state[key].shape != value.shape:
                raise ValueError(
                    f'VGGFeatureExtractor: features.{key} in '
                    f'{weights_path!r} has shape {tuple(state[key].shape)}, '
                    f'{self.arch} needs {tuple(value.shape)}; wrong arch?')
        self.features.load_state_dict({k: state[k] for k in wanted})

    def forward(self, x: Tensor) -> Dict[str, Tensor]:
        """Return ``{layer_id: feature}`` for ``x`` of shape (N, 3, H, W)."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError('VGGFeatureExtractor: expected an RGB batch '
                             f'(N, 3, H, W), got shape {tuple(x.shape)}.')
        if self.use_input_norm:
            x = (x - self.mean) / self.std
        wanted = {}
        for key, index in self._index.items():
            wanted.setdefault(index, []).append(key)
        out = {}
        for index, layer in enumerate(self.features):
            x = layer(x)
            for key in wanted.get(index, ()):
                out[key] = x
        return out

    def extra_repr(self) -> str:
        return (f"arch='{self.arch}', layer_ids={self.layer_ids}, "
                f'use_input_norm={self.use_input_norm}')


_CRITERIA = {
    'l1': 'L1Loss',
    'mse': 'MSELoss',
    'l2': 'MSELoss',
    'charbonnier': 'CharbonnierLoss',
}


@LOSSES.register_module()
class PerceptualLoss(nn.Module):
    """Distance between deep features of the prediction and the target.

    ``loss = loss_weight * sum_l layer_weights[l] * criterion(f_l(pred),
    f_l(target))``, with the target features computed without gradient.

    The feature extractor is pluggable: any ``LOSSES``-registered module
    that takes ``layer_ids=[...]`` and returns ``{layer_id: feature}``
    (:class:`VGGFeatureExtractor` by default). ``layer_ids`` is filled into
    its config from ``layer_weights`` unless the config sets it, and so is
    ``use_input_norm`` for the VGG extractor (a contradicting value in the
    config raises).

    IRN+ (``IRNp_model``): VGG19 ``conv5_4`` before ReLU (layer ``'34'``),
    ImageNet normalisation, criterion = the official "l1", i.e.
    ``criterion=dict(type='CharbonnierLoss', reduction='batch_sum')``, and
    ``loss_weight=0.01`` (``feature_weight``).

    Args:
        layer_weights (dict): ``{layer_id: weight}``. Default:
            ``{'34': 1.0}``.
        feature_extractor (dict | nn.Module): a ``LOSSES`` config dict or a
            built extractor. Default: ``dict(type='VGGFeatureExtractor')``,
            which needs ``weights_path`` (or ``pretrained=False``).
        criterion (str | dict): ``'l1'``, ``'mse'`` (``'l2'``),
            ``'charbonnier'`` (built with ``reduction``) or a ``LOSSES``
            config dict of a pixel loss. Default: ``'l1'``.
        use_input_norm (bool): ImageNet mean/std normalisation of the
            inputs in the extractor. Default: True.
        reduction (str): reduction of a string ``criterion``.
            Default: ``'mean'``.
        loss_weight (float): multiplies the loss. Default: 1.0.

    Shapes:
        ``pred``, ``target``: ``(N, 3, H, W)`` RGB in ``[0, 1]``.
    """

    def __init__(self,
                 layer_weights: Optional[Dict[str, float]] = None,
                 feature_extractor: Union[dict, nn.Module] = dict(
                     type='VGGFeatureExtractor'),
                 criterion: Union[str, dict] = 'l1',
                 use_input_norm: bool = True,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if layer_weights is None:
            layer_weights = {'34': 1.0}
        if not isinstance(layer_weights, dict) or not layer_weights:
            raise ValueError('PerceptualLoss: layer_weights must be a '
                             "non-empty dict such as {'34': 1.0}, got "
                             f'{layer_weights!r}.')
        self.layer_weights = {
            str(k): float(v)
            for k, v in layer_weights.items()
        }
        self.loss_weight = float(loss_weight)

        if isinstance(feature_extractor, dict):
            cfg = dict(feature_extractor)
            cfg.setdefault('layer_ids', list(self.layer_weights))
            if cfg.get('type') in ('VGGFeatureExtractor', VGGFeatureExtractor):
                given = cfg.setdefault('use_input_norm', use_input_norm)
                if given != use_input_norm:
                    raise ValueError(
                        'PerceptualLoss: use_input_norm='
                        f'{use_input_norm} contradicts the extractor config '
                        f'use_input_norm={given}; set it in one place.')
            feature_extractor = LOSSES.build(cfg)
        if not isinstance(feature_extractor, nn.Module):
            raise ValueError('PerceptualLoss: feature_extractor must be a '
                             'LOSSES config dict or an nn.Module, got '
                             f'{type(feature_extractor).__name__}.')
        self.feature_extractor = feature_extractor

        if isinstance(criterion, str):
            if criterion.lower() not in _CRITERIA:
                raise ValueError(f'PerceptualLoss: unknown criterion '
                                 f'{criterion!r}; use one of '
                                 f'{tuple(_CRITERIA)} or a LOSSES config '
                                 'dict.')
            check_reduction(reduction, 'PerceptualLoss')
            criterion = dict(
                type=_CRITERIA[criterion.lower()], reduction=reduction)
        if not isinstance(criterion, dict):
            raise ValueError('PerceptualLoss: criterion must be a string or '
                             f'a LOSSES config dict, got {criterion!r}.')
        self.criterion = LOSSES.build(criterion)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Compute the loss (see the class docstring)."""
        check_pair(pred, target, 'PerceptualLoss')
        pred_features = self.feature_extractor(pred)
        with torch.no_grad():
            target_features = self.feature_extractor(target.detach())
        loss = pred.new_zeros(())
        for key, weight in self.layer_weights.items():
            if key not in pred_features:
                raise ValueError(
                    f'PerceptualLoss: the feature extractor returned no '
                    f'layer {key!r} (it returned {list(pred_features)}); '
                    'make layer_weights match its layer_ids.')
            loss = loss + weight * self.criterion(pred_features[key],
                                                  target_features[key])
        return self.loss_weight * loss
