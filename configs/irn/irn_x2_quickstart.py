# IRN x2 quick start: trains a small IRN x2 on the bundled demo images
# (demo/data/train: 26 crops of Unsplash-licensed CLIC photographs) on the
# CPU in about 5 minutes, then evaluates on the held-out Kodak crops
# (demo/data/val) and prints Y-PSNR next to the bicubic down/up baseline.
#
# The official recipe (8 couplings of growth 32, lr 2e-4, a Gaussian latent)
# does not beat bicubic in 10 CPU minutes, so this config picks its own size
# and schedule: 2 couplings with growth-16 dense blocks, lr 2e-3, 64x64
# patches, and the latent set to zero in the backward pass and at test time
# (as IRN-Color does), which removes the noise of an untrained latent.
#   make quickstart
#   python tools/train.py configs/irn/irn_x2_quickstart.py
_base_ = ['../_base_/default_runtime.py']

scale = 2
max_iters = 1000

model = dict(
    type='IRN',
    generator=dict(
        type='IRNNet',
        in_channels=3,
        out_channels=3,
        scale=scale,
        block_num=[2],
        down_type='haar',
        subnet=dict(type='DenseBlock', growth=16, init='xavier')),
    pixel_loss_forw=dict(
        type='MSELoss', loss_weight=scale**2, reduction='batch_sum'),
    latent_loss=dict(type='LatentNLLLoss', loss_weight=1.0),
    pixel_loss_back=dict(
        type='CharbonnierLoss', loss_weight=1.0, reduction='batch_sum'),
    train_cfg=dict(seed=None, gaussian_scale=0.0),
    test_cfg=dict(latent='zero'),
    data_preprocessor=dict(type='DataPreprocessor'))

train_pipeline = [
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='PairedRandomCrop', gt_patch_size=64, scale=scale),
    dict(type='Flip', keys=('gt', ), direction='horizontal', flip_ratio=0.5),
    dict(type='Flip', keys=('gt', ), direction='vertical', flip_ratio=0.5),
    dict(type='RandomTranspose', keys=('gt', ), transpose_ratio=0.5),
    dict(type='GenerateBicubicLR', scale=scale, key='gt', out_key='lr'),
    dict(type='PackInputs', input_key='gt'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='ImageFolderDataset',
        data_root='demo/data/train',
        metainfo=dict(dataset_name='demo_train'),
        pipeline=train_pipeline))

val_pipeline = [
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='ModCrop', key='gt', scale=scale),
    dict(type='GenerateBicubicLR', scale=scale, key='gt', out_key='lr'),
    dict(type='PackInputs', input_key='gt'),
]
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ImageFolderDataset',
        data_root='demo/data/val',
        metainfo=dict(dataset_name='demo_val'),
        test_mode=True,
        pipeline=val_pipeline))
val_evaluator = [
    dict(type='PSNR', crop_border=scale, test_y_channel=True),
    dict(type='BicubicBaselinePSNR', scale=scale, crop_border=scale,
         test_y_channel=True),
    dict(type='SSIM', crop_border=scale, test_y_channel=True),
]
test_dataloader = val_dataloader
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='Adam', lr=2e-3, betas=(0.9, 0.999), weight_decay=1e-5),
    clip_grad=dict(max_norm=10.))
param_scheduler = dict(
    type='CosineAnnealingLR', by_epoch=False, T_max=max_iters,
    eta_min=1e-5)

train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='MultiValLoop')
test_cfg = dict(type='MultiTestLoop')

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=max_iters, by_epoch=False,
        max_keep_ckpts=1, save_last=True))
custom_hooks = [dict(type='VisualizationHook', interval=max_iters)]
