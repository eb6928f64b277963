# Copyright (c) invtoolbox contributors. All rights reserved.
"""The NovelViewJPEG model: objective, training steps, test path."""
import pytest
import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict

from invtoolbox.evaluation.metrics import PSNR, ViewPSNR
from invtoolbox.models.editors.novelview import (NovelViewJPEG,
                                                 evaluation_poses)
from invtoolbox.registry import MODELS
from invtoolbox.structures import DataSample

P, H, W = 4, 32, 48


def tiny(**kwargs):
    cfg = dict(
        type='NovelViewJPEG',
        generator=dict(type='NovelViewJPEGNet', num_planes=P,
                       encoder=dict(base_channels=8),
                       decoder=dict(base_channels=8)),
        discriminator=dict(type='MultiscaleDiscriminator', base_channels=8,
                           num_scales=2),
        train_cfg=dict(seed=3))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def batch(n=2, size=(H, W), seed=0):
    gen = torch.Generator().manual_seed(seed)
    ref = torch.rand(n, 3, *size, generator=gen)
    samples = [DataSample(gt_mpi=torch.rand(P, 4, *size, generator=gen))
               for _ in range(n)]
    return dict(inputs=list(ref), data_samples=samples)


def wrappers(model):
    return OptimWrapperDict(
        generator=OptimWrapper(
            torch.optim.Adam(model.generator.parameters(), 1e-3)),
        discriminator=OptimWrapper(
            torch.optim.Adam(model.discriminator.parameters(), 1e-3)))


def test_evaluation_poses_are_the_official_ones():
    poses, names = evaluation_poses()
    assert len(names) == 13 and names[2] == 'tx+0.000'
    assert torch.equal(poses[2], torch.eye(4))
    assert poses[:, :3, 3].abs().max() == pytest.approx(0.068)
    assert names[-1] == 'tz+0.068' and poses[-1, 2, 3] == pytest.approx(
        0.068)
    assert torch.all(poses[:, :3, :3] == torch.eye(3))


def test_the_objective_terms():
    model = tiny()
    data = model.data_preprocessor(batch(), True)
    ref, mpi = data['inputs'], torch.stack(
        [s.gt_mpi for s in data['data_samples']])
    assert ref.min() >= -1 and mpi[:, :, :3].min() >= -1
    assert mpi[:, :, 3].min() >= 0  # alpha stays in [0, 1]
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) == {
        'loss_ref_pix', 'loss_fft', 'loss_gan', 'loss_mpi_rgb',
        'loss_mpi_alpha', 'loss_render_pix'
    }
    # the embedding terms compare the encoder output with the reference
    with torch.no_grad():
        emb = model.generator.encode(ref, mpi)
    assert losses['loss_ref_pix'].item() == pytest.approx(
        torch.mean((emb - ref)**2).item(), rel=1e-5)
    # weights scale the terms
    model2 = tiny(train_cfg=dict(seed=3, mpi_alpha=0.0, ref_pix=2.0))
    model2.load_state_dict(model.state_dict())
    losses2 = model2.loss(data['inputs'], data['data_samples'])
    assert losses2['loss_mpi_alpha'].item() == 0
    assert losses2['loss_ref_pix'].item() == pytest.approx(
        2 * losses['loss_ref_pix'].item(), rel=1e-5)


def test_train_step_updates_generator_then_discriminator():
    model = tiny()
    ow = wrappers(model)
    enc = model.generator.encoder.output_conv[0].weight.detach().clone()
    disc = model.discriminator.layer0[0].weight.detach().clone()
    log = model.train_step(batch(), ow)
    assert {'loss', 'loss_disc', 'loss_gan', 'loss_render_pix'} <= set(log)
    assert not torch.equal(enc, model.generator.encoder.output_conv[0].weight)
    assert not torch.equal(disc, model.discriminator.layer0[0].weight)
    # the generator step does not touch the discriminator's gradients
    assert all(p.requires_grad for p in model.discriminator.parameters())


def test_training_is_reproducible_from_the_seed():
    logs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = tiny()
        ow = wrappers(model)
        logs.append([model.train_step(batch(seed=i), ow)['loss'].item()
                     for i in range(2)])
    assert logs[0] == logs[1]


def test_without_discriminator_or_jpeg_one_optimizer_trains():
    model = tiny(discriminator=None, jpeg=None)
    ow = OptimWrapper(torch.optim.Adam(model.parameters(), 1e-3))
    log = model.train_step(batch(), ow)
    assert 'loss_gan' not in log and 'loss_disc' not in log


def test_perceptual_terms_with_vgg_weights(tmp_path):
    from invtoolbox.models.losses import VGGFeatureExtractor
    vgg = VGGFeatureExtractor(arch='vgg19', layer_ids=('29', ),
                              weights_path=None, pretrained=False)
    path = tmp_path / 'vgg19.pth'
    torch.save({f'features.{k}': v
                for k, v in vgg.features.state_dict().items()}, path)
    perceptual = dict(
        type='PerceptualLoss',
        layer_weights={'1': 1 / 32, '6': 1 / 16, '11': 1 / 8, '20': 1 / 4,
                       '29': 1.0},
        criterion='l1', use_input_norm=False,
        feature_extractor=dict(type='VGGFeatureExtractor', arch='vgg19',
                               weights_path=str(path)))
    model = tiny(perceptual_loss=perceptual)
    assert not any('perceptual' in k for k in model.state_dict())
    log = model.train_step(batch(), wrappers(model))
    assert log['loss_ref_vgg'] > 0 and log['loss_render_vgg'] > 0
    # a missing VGG file: the model still builds (for testing) and the
    # first training step says what is missing in one line
    broken = dict(perceptual, feature_extractor=dict(
        perceptual['feature_extractor'], weights_path=str(tmp_path / 'no')))
    model = tiny(perceptual_loss=broken)
    with pytest.raises(FileNotFoundError, match='weights file'):
        model.train_step(batch(), wrappers(model))


def test_predict_goes_through_a_real_jpeg_and_renders_the_views():
    model = tiny().eval()
    out = model.val_step(batch())
    sample = out[0]
    assert sample.pred_img.shape == (3, H, W)
    assert sample.pred_views.shape == (13, 3, H, W)
    assert sample.gt_views.shape == (13, 3, H, W)
    assert 0 <= sample.pred_views.min() and sample.pred_views.max() <= 1
    assert sample.num_bytes > 0 and sample.bpp == pytest.approx(
        8 * sample.num_bytes / (H * W))
    # the JPEG is real: 8-bit values
    assert torch.equal(torch.round(sample.pred_img * 255),
                       sample.pred_img * 255)
    # the identity view of the ground truth is the composite of the MPI
    # (exact sampling), and the baseline is still at every pose
    assert torch.equal(sample.baseline_views[0], sample.baseline_views[-1])
    dicts = [o.to_dict() for o in out]
    for metric in (PSNR(), ViewPSNR(), ViewPSNR(pred_key='baseline_views')):
        metric.process(None, dicts)
        value = list(metric.compute_metrics(metric.results).values())[0]
        assert 3 < value < 100


def test_bad_inputs_are_one_line():
    model = tiny()
    with pytest.raises(ValueError, match=r'not a multiple of 16.*crop or '
                       'resize'):
        model.loss(*_processed(model, batch(size=(40, 48))))
    data = batch()
    data['data_samples'] = [DataSample() for _ in range(2)]
    with pytest.raises(ValueError, match="needs the MPI as 'gt_mpi'"):
        model.train_step(data, wrappers(model))
    data = batch()
    data['data_samples'] = [
        DataSample(gt_mpi=torch.rand(P + 1, 4, H, W)) for _ in range(2)]
    with pytest.raises(ValueError, match=r'mpis must be an \(N, 4, 4, H, W\)'):
        model.loss(*_processed(model, data))
    with pytest.raises(ValueError, match='needs an OptimWrapperDict'):
        model.train_step(batch(), OptimWrapper(
            torch.optim.Adam(model.parameters(), 1e-3)))


def _processed(model, data):
    data = model.data_preprocessor(data, True)
    return data['inputs'], data['data_samples']


def test_the_official_size():
    model = NovelViewJPEG(discriminator=None)
    assert sum(p.numel() for p in model.generator.encoder.parameters()) == \
        7050435
    assert sum(p.numel() for p in model.generator.decoder.parameters()) == \
        1625728
