# Copyright (c) invtoolbox contributors. All rights reserved.
import pytest
import torch

from invtoolbox.models.losses import GANLoss
from invtoolbox.registry import LOSSES

LOGITS = torch.tensor([[-2.0], [-0.5], [0.0], [0.7], [3.0]])


def _bce(x, t):
    p = torch.sigmoid(x)
    return -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean()


@pytest.mark.parametrize('gan_type', ['vanilla', 'gan', 'GAN'])
def test_vanilla_is_bce_with_logits(gan_type):
    loss = LOSSES.build(dict(type='GANLoss', gan_type=gan_type))
    assert loss.gan_type == 'vanilla'
    torch.testing.assert_close(loss(LOGITS, True), _bce(LOGITS, 1.0))
    torch.testing.assert_close(loss(LOGITS, False), _bce(LOGITS, 0.0))
    smooth = GANLoss('vanilla', real_label_val=0.9, fake_label_val=0.1)
    torch.testing.assert_close(smooth(LOGITS, True), _bce(LOGITS, 0.9))
    torch.testing.assert_close(smooth(LOGITS, False), _bce(LOGITS, 0.1))


def test_lsgan_wgan_softplus_and_hinge():
    x = LOGITS
    ls = GANLoss('lsgan')
    torch.testing.assert_close(ls(x, True), ((x - 1)**2).mean())
    torch.testing.assert_close(ls(x, False), (x**2).mean())
    for name in ('wgan', 'wgan-gp'):
        w = GANLoss(name)
        torch.testing.assert_close(w(x, True), -x.mean())
        torch.testing.assert_close(w(x, False), x.mean())
    sp = GANLoss('wgan_softplus')
    torch.testing.assert_close(sp(x, True), torch.log1p(torch.exp(-x)).mean())
    torch.testing.assert_close(sp(x, False), torch.log1p(torch.exp(x)).mean())
    hinge = GANLoss('hinge')
    torch.testing.assert_close(
        hinge(x, True, is_disc=True),
        torch.clamp(1 - x, min=0).mean())
    torch.testing.assert_close(
        hinge(x, False, is_disc=True),
        torch.clamp(1 + x, min=0).mean())
    torch.testing.assert_close(hinge(x, True), -x.mean())
    torch.testing.assert_close(hinge(x, False), -x.mean())


@pytest.mark.parametrize(
    'gan_type', ['vanilla', 'lsgan', 'wgan', 'wgan_softplus', 'hinge'])
def test_loss_weight_applies_to_generator_only(gan_type):
    weighted = GANLoss(gan_type, loss_weight=0.25)
    plain = GANLoss(gan_type)
    x = torch.randn(4, 1, 3, 3)
    torch.testing.assert_close(weighted(x, True), 0.25 * plain(x, True))
    torch.testing.assert_close(
        weighted(x, False, is_disc=True), plain(x, False, is_disc=True))


def test_irn_plus_usage():
    """IRN+ (``IRNp_model``): G loss ``gan_weight * cri_gan(D(x_hat), True)``,
    D loss ``cri_gan(D(x), True) + cri_gan(D(x_hat), False)`` (BCE)."""
    d_real = torch.tensor([[1.5], [0.2]])
    d_fake = torch.tensor([[-0.3], [0.8]])
    loss = GANLoss('gan', loss_weight=0.1)
    torch.testing.assert_close(loss(d_fake, True), 0.1 * _bce(d_fake, 1.0))
    l_d = loss(d_real, True, is_disc=True) + loss(d_fake, False, is_disc=True)
    torch.testing.assert_close(l_d, _bce(d_real, 1.0) + _bce(d_fake, 0.0))


@pytest.mark.parametrize(
    'gan_type', ['vanilla', 'lsgan', 'wgan', 'wgan_softplus', 'hinge'])
def test_gradcheck(gan_type):
    loss = GANLoss(gan_type, loss_weight=0.5)
    # keep hinge inputs away from its kinks at +-1
    x = torch.tensor([[-2.2], [-0.4], [0.3], [1.7]],
                     dtype=torch.float64,
                     requires_grad=True)
    for real in (True, False):
        for is_disc in (True, False):
            assert torch.autograd.gradcheck(lambda t: loss(t, real, is_disc),
                                            (x, ))


def test_vanilla_gradient_by_hand():
    x = LOGITS.clone().requires_grad_(True)
    GANLoss('vanilla')(x, True).backward()
    # d/dx mean(-log sigmoid(x)) = (sigmoid(x) - 1) / n
    torch.testing.assert_close(x.grad, (torch.sigmoid(LOGITS) - 1) / 5)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="'ragan'"):
        GANLoss('ragan')
    with pytest.raises(ValueError, match='floating-point'):
        GANLoss()(torch.ones(2, dtype=torch.long), True)
