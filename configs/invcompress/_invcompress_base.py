# InvCompress's recipe without its quality (Xie, Cheng, Chen, "Enhanced
# Invertible Encoding for Learned Image Compression", ACM MM 2021; the
# official codes/examples/train.py): InvCompressNet (enhancement block,
# 4-level INN with Bottleneck couplings, attentive channel squeeze,
# attention blocks; Cheng2020Anchor's hyperprior + 5x5 context model +
# Gaussian conditional), loss lmbda * 255^2 * MSE + bpp (or lmbda *
# (1 - MS-SSIM) + bpp), Adam 1e-4 with gradient clipping 1.0, the
# EntropyBottleneck's quantile loss on its own Adam 1e-3, batch 8,
# RandomCrop 256 (no flips), 600 epochs with lr x0.1 at epochs 450 and 550.
# Data: the Flickr 2W set (liujiaheng/CompressionData) re-split 99/1 by the
# official scripts/flicker_process.py into data/flicker/{train,test}.
# Test: real bitstreams (compress + decompress, bpp from bytes) on the
# Kodak images, zero-padded to multiples of 64 and cropped back.
# The files invcompress_q{1..8}_{mse,msssim}_flicker.py set the quality.
_base_ = ['../_base_/default_runtime.py']

quality = 1
metric = 'mse'
model = dict(
    type='InvCompress',
    quality=quality,
    metric=metric,
    generator=dict(
        type='InvCompressNet',
        N=128,
        enhance_channels=64,
        levels=4,
        kernel_sizes=(5, 5, 3, 3),
        couplings_per_level=3),
    test_cfg=dict(real_bitstream=True),
    data_preprocessor=dict(type='DataPreprocessor'))

train_pipeline = [
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='PairedRandomCrop', gt_patch_size=256, scale=1),
    dict(type='PackInputs', input_key='gt'),
]
val_pipeline = [
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='CenterCrop', crop_size=256, keys=('gt', )),
    dict(type='PackInputs', input_key='gt'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='PackInputs', input_key='gt'),
]

data_root = 'data/flicker'
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='ImageFolderDataset',
        data_root=data_root + '/train',
        metainfo=dict(dataset_name='flicker_train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ImageFolderDataset',
        data_root=data_root + '/test',
        metainfo=dict(dataset_name='flicker_test'),
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ImageFolderDataset',
        data_root='data/kodak',
        metainfo=dict(dataset_name='kodak'),
        test_mode=True,
        pipeline=test_pipeline))

# the official evaluation: bpp from the bytes of the real bitstreams, PSNR
# and MS-SSIM of the decoded image (CompressAI computes PSNR on the float
# output clamped to [0, 1]; ours is on the 8-bit image, as a user gets it)
codec_metrics = [
    dict(type='BPP'),
    dict(type='PSNR'),
    dict(type='MSSSIM'),
]
val_evaluator = codec_metrics
test_evaluator = codec_metrics

optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    main=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-4),
        clip_grad=dict(max_norm=1.0),
        exclude=['*.quantiles']),
    aux=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-3),
        params=['*.quantiles']))

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=600, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# the official schedule steps the main optimizer only (the auxiliary one
# keeps lr 1e-3: mmengine wants a scheduler per optimizer, factor 1.0)
param_scheduler = dict(
    main=dict(
        type='MultiStepLR', by_epoch=True, milestones=[450, 550],
        gamma=0.1),
    aux=dict(type='ConstantLR', factor=1.0))

# checkpoints carry entropy-coder tables that fit their weights
custom_hooks = [dict(type='EntropyTablesHook')]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=10, by_epoch=True, save_last=True,
        max_keep_ckpts=3))
