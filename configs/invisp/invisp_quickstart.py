# Invertible-ISP quick start: no download. The bundled demo photographs
# (demo/data/train: 26 crops of Unsplash-licensed CLIC photographs;
# demo/data/val: 4 Kodak crops, held out) are turned into synthetic camera
# RAW by inverting a camera pipeline (Nikon D700 colour matrix, random white
# balance and exposure, RGGB mosaic, shot and read noise, 14 bit, black 512)
# and written as real DNG files, once, under work_dirs/; training then reads
# them through the same rawpy path as real RAW (LoadRAWFromFile) and learns
# to reproduce LibRaw's rendering of them (LoadSRGBTarget), with the
# official objective (DiffJPEG q90 with Fourier rounding in the loop).
#
# It prints, on the held-out images, RGB PSNR/SSIM and RAW PSNR of the
# network (render -> real JPEG q90 4:2:2 -> recover) beside the analytic
# baseline: the RAW recovered from a JPEG q90 of the synthetic pipeline's
# own rendering by inverting that pipeline (SyntheticISPBaseline).
#
# To train within 10 CPU minutes it uses its own size: the official block
# (LU 1x1 conv + coupling, split 1 | 2, clamp 0.8, official init) but 4
# blocks of growth-16 dense subnets, 64x64 crops, batch 2, lr 5e-4 (cosine),
# 1200 iterations (5 min 18 s on 2 idle cores),
# validation on 128x128 centre crops.
#   python tools/train.py configs/invisp/invisp_quickstart.py
_base_ = ['./_invisp_base.py']

max_iters = 1200
work_root = 'work_dirs/invisp_quickstart'

model = dict(
    generator=dict(
        block_num=4,
        subnet=dict(
            type='DenseBlock', growth=16, init='xavier', init_scale=1.0,
            zero_init_last=False)))

camera = dict(cfa='RGGB', camera='nikon_d700', black_level=512,
              white_level=16383)
# the recipe's pipelines with 64x64 training crops and 128x128 centre crops
# for validation
train_pipeline = [
    dict(t, gt_patch_size=64) if t['type'] == 'PairedRandomCrop' else t
    for t in _base_.train_pipeline
]
val_pipeline = _base_.test_pipeline[:2] + [
    dict(type='CenterCrop', crop_size=128, keys=('raw', 'gt'))
] + _base_.test_pipeline[2:]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='SyntheticRAWDataset',
        src_root='demo/data/train',
        cache_root=work_root + '/synthetic_raw/train',
        camera=camera,
        seed=0,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='SyntheticRAWDataset',
        src_root='demo/data/val',
        cache_root=work_root + '/synthetic_raw/val',
        camera=camera,
        seed=1,
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = val_dataloader

# the recipe's metrics, plus the analytic baseline on the same images
quickstart_metrics = _base_.invisp_metrics + [
    dict(type='SyntheticISPBaseline', quality=90, subsampling=1)
]
val_evaluator = quickstart_metrics
test_evaluator = quickstart_metrics

optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=5e-4))
param_scheduler = dict(
    _delete_=True, type='CosineAnnealingLR', by_epoch=False,
    T_max=max_iters, eta_min=1e-5)
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
    val_interval=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=max_iters, by_epoch=False,
        max_keep_ckpts=1, save_last=True))
log_processor = dict(type='LogProcessor', window_size=100, by_epoch=False)
