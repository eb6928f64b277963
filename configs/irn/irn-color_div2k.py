# IRN-Color (IJCV extension, train_IRN_color.yml): invertible decolorisation.
# A learnable 3x3 colour matrix (RGB->YUV initialised) + 8 affine couplings
# with split 1: channel 0 is the grey image, channels 1-2 the latent. Loss:
# 3 * l2(grey, BT.601 grey) + 1 * sum(z^2)/N + Charbonnier(x, x_hat) with the
# latent set to zero in the backward pass; batch 8. The loaders are those
# of the x2 data bases; the pipelines and metrics below replace their
# scale-dependent parts (IRN-Color does not rescale).
_base_ = [
    '../_base_/default_runtime.py', '../_base_/datasets/div2k_train_x2.py',
    '../_base_/datasets/sr_test_x2.py',
    '../_base_/schedules/adam_500k_multistep.py'
]

model = dict(
    type='IRN',
    generator=dict(
        type='IRNNet',
        in_channels=3,
        out_channels=1,
        scale=1,
        block_num=[8],
        down_type='grey',
        subnet=dict(type='DenseBlock', growth=32, init='xavier')),
    pixel_loss_forw=dict(type='MSELoss', loss_weight=3.0,
                         reduction='batch_sum'),
    latent_loss=dict(type='LatentNLLLoss', loss_weight=1.0),
    pixel_loss_back=dict(
        type='CharbonnierLoss', loss_weight=1.0, reduction='batch_sum'),
    train_cfg=dict(seed=None, gaussian_scale=0.0),
    test_cfg=dict(latent='zero'),
    data_preprocessor=dict(type='DataPreprocessor'))

train_pipeline = [
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='PairedRandomCrop', gt_patch_size=144, scale=1, keys=('gt', )),
    dict(type='Flip', keys=('gt', ), direction='horizontal', flip_ratio=0.5),
    dict(type='Flip', keys=('gt', ), direction='vertical', flip_ratio=0.5),
    dict(type='RandomTranspose', keys=('gt', ), transpose_ratio=0.5),
    dict(type='GenerateGreyReference', key='gt', out_key='lr'),
    dict(type='PackInputs', input_key='gt'),
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))

test_pipeline = [
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='GenerateGreyReference', key='gt', out_key='lr'),
    dict(type='PackInputs', input_key='gt'),
]
test_dataloader = [
    dict(loader, dataset=dict(loader.dataset, pipeline=test_pipeline))
    for loader in _base_.test_dataloader
]
val_dataloader = test_dataloader[:2]
# colour restoration (RGB and Y) and the grey embedding vs the BT.601 grey
test_evaluator = [
    dict(type='PSNR'),
    dict(type='SSIM'),
    dict(type='PSNR', gt_key='lr_img', pred_key='pred_lr', prefix='grey'),
]
val_evaluator = test_evaluator
