# IICNet video embedding quick start: no download. Trains the video task
# of st-01 (5 frames, the middle one the reference, VideoEmbedding, the
# official objective: L2 + 0.001 FFT on the embedding, 3 x Charbonnier
# restoration) at a CPU size on the bundled demo clips
# (demo/data/videos/train: 10 clips of 12 96x96 frames, a camera moving
# smoothly over Unsplash-licensed CLIC photographs), then evaluates on the
# held-out clips (demo/data/videos/val: 4 clips made from the Kodak crops,
# 3 five-frame clips each) and prints the embedding's PSNR / SSIM against
# the reference frame and the PSNR / SSIM of the restored frames, beside
# the classical baseline: the reference frame shipped as-is and every frame
# "restored" as a copy of it (Baseline_restored_noref_PSNR).
#
# To train in a few CPU minutes it uses its own size: no relation module
# (as the official ablation st-02), 4 couplings with growth-16 dense
# blocks, 32x32 crops, batch 4, Adam 2e-3 (cosine). Numbers and minutes:
# configs/iicnet/README.md, section Quick start.
#   python tools/train.py configs/iicnet/video_embed_quickstart.py
# Your own clips (README.md#your-own-video-clips): a folder holding train/
# and val/, each with one folder of frames per clip, and
#   python tools/train.py configs/iicnet/video_embed_quickstart.py \
#       --data-root /path/to/clips
_base_ = ['./video_embed.py']

max_iters = 300
num_frames = 5
crop_size = 32
# every dataset below lives under data_root (tools/train.py --data-root
# DIR swaps it for DIR and keeps the train/ and val/ sub-folders)
data_root = 'demo/data/videos'
data_hint = ('See README.md#your-own-video-clips for the clip layout '
             'and --data-root.')

model = dict(
    generator=dict(use_rel=False, block_num=4, subnet=dict(growth=16)))

train_pipeline = [
    dict(type='LoadImages'),
    dict(type='RandomCropImages', crop_size=crop_size),
    dict(type='PackImages'),
]
val_pipeline = [
    dict(type='LoadImages'),
    dict(type='PackImages'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='VideoClipDataset',
        data_root=f'{data_root}/train',
        layout='folders',
        num_frames=num_frames,
        clip_step=1,  # a clip starting at every frame
        metainfo=dict(dataset_name='demo_clips_train'),
        pipeline=train_pipeline))
val_dataloader = [
    dict(
        batch_size=1,
        num_workers=0,
        persistent_workers=False,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='VideoClipDataset',
            data_root=f'{data_root}/val',
            layout='folders',
            num_frames=num_frames,
            clip_step=2,
            test_mode=True,
            metainfo=dict(dataset_name='demo_clips_val'),
            pipeline=val_pipeline))
]
test_dataloader = val_dataloader

quickstart_metrics = [
    dict(type='RICMetric'),
    dict(type='RepeatReferenceBaseline'),
]
val_evaluator = quickstart_metrics
test_evaluator = quickstart_metrics

optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = dict(
    _delete_=True, type='CosineAnnealingLR', by_epoch=False,
    T_max=max_iters, eta_min=1e-5)
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
    val_interval=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=max_iters, by_epoch=False,
        max_keep_ckpts=1, save_last=True))
custom_hooks = [
    dict(type='VisualizationHook', interval=max_iters, gt_key='ref_img',
         pred_key='pred_embed', lr_keys=())
]
