# Novel views in a JPEG, quick start: no download. Synthetic multiplane
# images are made from the bundled demo photographs (demo/data/train: 26
# crops of Unsplash-licensed CLIC photographs; demo/data/val: 4 Kodak
# crops, held out): each scene is an opaque background photo on the
# farthest of 32 planes and 2-4 photo cut-outs with soft random masks on
# nearer planes; the reference view is their composite. They are written
# once in the official folder layout under work_dirs/ and read through the
# same loader as real MPIs (MPIFolderDataset).
#
# It prints, on the held-out scenes, the embedding's PSNR/SSIM against the
# reference (after a real JPEG q90) and the PSNR/SSIM of the views rendered
# from the MPI decoded from that JPEG against the views of the true MPI (13
# poses, the official protocol), beside the classical baseline: a plain
# JPEG q90 of the reference (embedding) shown unchanged at every pose
# (views). Pictures (reference | embedding | error; true views; decoded
# views) go to work_dirs/novelview_quickstart/vis/.
#
# To train within 10 CPU minutes it uses its own size: the official
# networks at half width (32 channels), no discriminator and no VGG terms
# (the other official losses, DiffJPEG q87-93 in the loop), 64x64 scenes,
# batch 2, Adam 1e-3 (cosine), 1500 iterations.
#   python tools/train.py configs/novelview/novelview_quickstart.py
_base_ = ['./_novelview_base.py']

max_iters = 1500
work_root = 'work_dirs/novelview_quickstart'
scene_size = (64, 64)

model = dict(
    generator=dict(
        encoder=dict(base_channels=32), decoder=dict(base_channels=32)),
    discriminator=None)

train_pipeline = [
    dict(type='LoadMPIFromFolder'),
    dict(type='MPIFlip', flip_ratio=0.5),
    dict(type='PackMPIInputs', meta_keys=_base_.mpi_meta_keys),
]
val_pipeline = [
    dict(type='LoadMPIFromFolder'),
    dict(type='PackMPIInputs', meta_keys=_base_.mpi_meta_keys),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='SyntheticMPIDataset',
        src_root='demo/data/train',
        cache_root=work_root + '/synthetic_mpi/train',
        scenes_per_image=8,
        size=scene_size,
        seed=0,
        num_planes=_base_.num_planes,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='SyntheticMPIDataset',
        src_root='demo/data/val',
        cache_root=work_root + '/synthetic_mpi/val',
        scenes_per_image=2,
        size=scene_size,
        seed=1,
        num_planes=_base_.num_planes,
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999), eps=1e-8))
param_scheduler = dict(
    _delete_=True, type='CosineAnnealingLR', by_epoch=False,
    T_max=max_iters, eta_min=1e-5)
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
    val_interval=500)
custom_hooks = [
    dict(type='NovelViewVisualizationHook', interval=500,
         visualize_val=True, max_samples_per_batch=1)
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=max_iters, by_epoch=False,
        max_keep_ckpts=1, save_last=True))
log_processor = dict(type='LogProcessor', window_size=100, by_epoch=False)
