# The SR test sets of sr_test_x2.py (Set5, Set14, BSD100, Urban100,
# DIV2K-val; the same folders, loaders and loops) at x4: GT mod-cropped to
# 4, the x4 MATLAB-bicubic LR reference, Y-channel PSNR / SSIM with 4 pixels
# cropped at each border. Validation: Set5 and Set14.
_base_ = ['./sr_test_x2.py']

test_pipeline = [
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='ModCrop', key='gt', scale=4),
    dict(type='GenerateBicubicLR', scale=4, key='gt', out_key='lr'),
    dict(type='PackInputs', input_key='gt'),
]
# the x2 loaders, each with the x4 pipeline
test_dataloader = [
    dict(loader, dataset=dict(loader.dataset, pipeline=test_pipeline))
    for loader in _base_.test_dataloader
]
val_dataloader = test_dataloader[:2]

test_evaluator = [
    dict(type='PSNR', crop_border=4, test_y_channel=True),
    dict(type='SSIM', crop_border=4, test_y_channel=True),
]
val_evaluator = test_evaluator
