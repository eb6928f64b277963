# InvCompress quick start: no download. Trains a reduced InvCompress on the
# bundled demo photographs (demo/data/train: 26 crops of Unsplash-licensed
# CLIC photographs) and evaluates it on the 4 held-out Kodak crops
# (demo/data/val) with real bitstreams (compress -> bytes -> decompress),
# beside Pillow JPEG 4:2:0 at the same rate (the largest quality whose file
# is no larger than the learned bitstream): JPEG_bpp / JPEG_PSNR /
# JPEG_MS-SSIM next to bpp / PSNR / MS-SSIM.
#
# To train within 10 CPU minutes it uses its own size: the official blocks
# (enhancement, 4-level INN with sub-pixel squeeze, 1x1 conv and two-sided
# affine couplings, attentive channel squeeze, attention, Cheng2020's
# hyperprior, 5x5 context model, Gaussian conditional) with one coupling
# per level, 3x3 Bottlenecks (1x1 at the 768-channel level), enhancement
# width 16 with growth-8 DenseBlocks and N = 64: 4.7 M parameters instead
# of 43 M; 128x128 crops, batch 2, Adam 1e-3 (cosine) with the official
# clipping and auxiliary optimizer, lambda 0.0130 (quality 4's).
#   python tools/train.py configs/invcompress/invcompress_quickstart.py
_base_ = ['./_invcompress_base.py']

max_iters = 1000

model = dict(
    quality=None,
    lmbda=0.0130,
    generator=dict(
        N=64, enhance_channels=16, enhance_growth=8,
        kernel_sizes=(3, 3, 3, 1), couplings_per_level=1))

train_pipeline = [
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='PairedRandomCrop', gt_patch_size=128, scale=1),
    dict(type='Flip', keys=('gt', ), direction='horizontal', flip_ratio=0.5),
    dict(type='PackInputs', input_key='gt'),
]
val_pipeline = [
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='PackInputs', input_key='gt'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_root='demo/data/train',
        metainfo=dict(dataset_name='demo_train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    dataset=dict(
        data_root='demo/data/val',
        metainfo=dict(dataset_name='demo_val'),
        pipeline=val_pipeline))
test_dataloader = val_dataloader

quickstart_metrics = _base_.codec_metrics + [
    dict(type='JPEGSameRateBaseline', subsampling=2)
]
val_evaluator = quickstart_metrics
test_evaluator = quickstart_metrics

optim_wrapper = dict(main=dict(optimizer=dict(lr=1e-3)))
param_scheduler = dict(
    _delete_=True,
    main=dict(
        type='CosineAnnealingLR', by_epoch=False, T_max=max_iters,
        eta_min=1e-5),
    aux=dict(type='ConstantLR', factor=1.0))
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
    val_interval=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=max_iters, by_epoch=False,
        max_keep_ckpts=1, save_last=True))
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
