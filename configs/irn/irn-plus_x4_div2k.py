# IRN+ x4 (ECCV 2020, train_IRN+_x4.yml): the IRN x4 generator finetuned with
# a VGG-style discriminator (vanilla GAN loss, weight 1) and a perceptual
# loss on VGG19 conv5_4 features (0.01) beside 0.01 * Charbonnier; no latent
# loss. Starts from the converted IRN_x4 weights; the discriminator trains
# alone for the first 5000 iterations. 400k iterations, lr 1e-4 for both.
# The VGG19 weights come from a local file (no download at run time); see
# docs/latents_and_losses.md for how to make checkpoints/vgg19.pth.
_base_ = './irn_x4_div2k.py'

load_from = 'checkpoints/irn_x4_official.pth'
model = dict(
    _delete_=True,
    type='IRNPlus',
    generator=dict(
        type='IRNNet',
        in_channels=3,
        out_channels=3,
        scale=4,
        block_num=[8, 8],
        down_type='haar',
        subnet=dict(type='DenseBlock', growth=32, init='xavier')),
    discriminator=dict(
        type='VGGStyleDiscriminator', in_channels=3, mid_channels=64),
    pixel_loss_forw=dict(
        type='MSELoss', loss_weight=16.0, reduction='batch_sum'),
    pixel_loss_back=dict(
        type='CharbonnierLoss', loss_weight=0.01, reduction='batch_sum'),
    latent_loss=None,
    gan_loss=dict(type='GANLoss', gan_type='vanilla', loss_weight=1.0),
    perceptual_loss=dict(
        type='PerceptualLoss',
        layer_weights={'34': 1.0},
        loss_weight=0.01,
        criterion=dict(
            type='CharbonnierLoss', loss_weight=1.0, reduction='batch_sum'),
        feature_extractor=dict(
            type='VGGFeatureExtractor',
            arch='vgg19',
            weights_path='checkpoints/vgg19.pth')),
    train_cfg=dict(disc_init_steps=5000, disc_steps=1),
    test_cfg=dict(latent='gaussian', seed=0, gaussian_scale=1.0),
    data_preprocessor=dict(type='DataPreprocessor'))

milestones = [50000, 100000, 200000, 300000]
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    generator=dict(
        type='OptimWrapper',
        optimizer=dict(
            type='Adam', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-5),
        clip_grad=dict(max_norm=10.)),
    discriminator=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99),
                       weight_decay=0)))
param_scheduler = dict(
    _delete_=True,
    generator=dict(
        type='MultiStepLR', by_epoch=False, milestones=milestones, gamma=0.5),
    discriminator=dict(
        type='MultiStepLR', by_epoch=False, milestones=milestones, gamma=0.5))
train_cfg = dict(max_iters=400000)
