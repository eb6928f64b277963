# Invertible-ISP's recipe without its data (Xing, Qian, Chen, "Invertible
# Image Signal Processing", CVPR 2021; the official train.py / train.sh):
# InvISPNet (8 x [LU 1x1 conv + affine coupling, split 1 | 2, clamp 0.8],
# DenseBlock subnets, growth 32, every conv re-initialised xavier-normal with
# zero bias), loss L1(clamp(net(raw)), srgb) + L1(net(DiffJPEG_q90(rgb),
# rev=True), raw) with Fourier rounding, Adam 1e-4 (default betas), batch 1,
# 300 epochs, lr halved at epochs 50 and 80 (stepped per epoch).
# Test: render, real JPEG q90 4:2:2 (Pillow, as test_rgb.py), recover; RGB
# PSNR/SSIM on the 8-bit JPEG, RAW PSNR on float [0, 1] (cal_metrics.py).
# Not a training config on its own: invisp_{nikon,canon}_fivek.py add the
# FiveK data of each camera, invisp_quickstart.py synthetic DNGs.
_base_ = ['../_base_/default_runtime.py']

model = dict(
    type='InvISP',
    generator=dict(
        type='InvISPNet',
        channel_in=3,
        channel_out=3,
        block_num=8,
        memory_efficient=False),
    # the official DiffJPEG (mlomnitz's port): 4:2:0, tables stored transposed
    jpeg=dict(
        type='DiffJPEG', quality=90, rounding='fourier',
        transposed_tables=True),
    rgb_loss=dict(type='L1Loss'),
    raw_loss=dict(type='L1Loss'),
    train_cfg=dict(rgb_weight=1.0, raw_weight=1.0),
    test_cfg=dict(codec=dict(type='RealJPEG', quality=90, subsampling='422')),
    data_preprocessor=dict(type='DataPreprocessor'))

# the data pipelines: RAW read with rawpy and normalised as the network's
# input, its cached LibRaw sRGB target; training crops 256x256 at the same
# place in both and applies the official rot90 + flip.
raw_meta_keys = ('key', 'img_path', 'ori_shape', 'raw_path', 'raw_meta',
                 'sample_idx')

train_pipeline = [
    dict(type='LoadRAWFromFile', key='raw'),
    dict(type='LoadSRGBTarget', key='gt'),
    dict(type='PairedRandomCrop', gt_patch_size=256, scale=1,
         keys=('gt', 'raw')),
    dict(type='RandomRot90Flip', keys=('raw', 'gt')),
    dict(type='PackInputs', input_key='raw', fields=dict(gt='gt_img'),
         meta_keys=raw_meta_keys),
]
test_pipeline = [
    dict(type='LoadRAWFromFile', key='raw'),
    dict(type='LoadSRGBTarget', key='gt'),
    dict(type='PackInputs', input_key='raw', fields=dict(gt='gt_img'),
         meta_keys=raw_meta_keys),
]

optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4))

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[50, 80], gamma=0.5)

# the paper's metrics: RGB on the decoded JPEG q90 of the rendering, RAW on
# the recovered float image (no 8-bit rounding, MAX 1)
invisp_metrics = [
    dict(type='PSNR'),
    dict(type='SSIM'),
    dict(type='PSNR', gt_key='gt_raw', pred_key='pred_raw', quantize=False,
         max_value=1.0, prefix='RAW'),
    dict(type='BPP'),
]
val_evaluator = invisp_metrics
test_evaluator = invisp_metrics

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=10, by_epoch=True, save_last=True,
        max_keep_ckpts=5))
log_processor = dict(type='LogProcessor', window_size=100, by_epoch=True)
custom_hooks = []
