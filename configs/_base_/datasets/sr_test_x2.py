# The five benchmarks of the rescaling papers (IRN, SAIN): Set5, Set14,
# BSD100, Urban100 and DIV2K-val, evaluated at once by MultiValLoop /
# MultiTestLoop with Y-channel PSNR / SSIM (BT.601, 8-bit) after cropping
# `scale` pixels at each border. GT images are mod-cropped to the scale; the
# bicubic LR reference (lr_img) is made with MATLAB's imresize.
#
# Each folder holds the HR images (the original files or GTmod12 crops):
#   data/Set5, data/Set14, data/BSD100, data/Urban100, data/DIV2K/DIV2K_valid_HR
# Point one elsewhere with e.g.
#   --cfg-options test_dataloader.0.dataset.data_root=/path/to/Set5
#
# Validation during training uses Set5 and Set14 (fast); test uses all five.
#
# This file is x2. sr_test_x3.py, sr_test_x4.py and sr_test_x8.py are the same
# sets and loaders at x3 / x4 / x8 (the scale of ModCrop and GenerateBicubicLR,
# the crop_border of the metrics). An algorithm config picks its scale by
# inheriting the matching file, e.g.
#   _base_ = [..., '../_base_/datasets/sr_test_x4.py']
# (mmengine evaluates a base before its child and replaces lists whole, so a
# child's `scale = 4` alone would not reach the lists below.)
test_pipeline = [
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='ModCrop', key='gt', scale=2),
    dict(type='GenerateBicubicLR', scale=2, key='gt', out_key='lr'),
    dict(type='PackInputs', input_key='gt'),
]

test_sets = [
    ('Set5', 'data/Set5'),
    ('Set14', 'data/Set14'),
    ('BSD100', 'data/BSD100'),
    ('Urban100', 'data/Urban100'),
    ('DIV2K_val', 'data/DIV2K/DIV2K_valid_HR'),
]

test_dataloader = [
    dict(
        batch_size=1,  # full images of different sizes
        num_workers=2,
        persistent_workers=False,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='ImageFolderDataset',
            data_root=root,
            metainfo=dict(dataset_name=name),
            test_mode=True,
            pipeline=test_pipeline)) for name, root in test_sets
]
val_dataloader = test_dataloader[:2]

# one list of metrics, shared by every dataset; reported as e.g. Set5/PSNR_Y
test_evaluator = [
    dict(type='PSNR', crop_border=2, test_y_channel=True),
    dict(type='SSIM', crop_border=2, test_y_channel=True),
]
val_evaluator = test_evaluator

val_cfg = dict(type='MultiValLoop')
test_cfg = dict(type='MultiTestLoop')
