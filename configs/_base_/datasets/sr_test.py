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
# x2 by default. An algorithm config sets its own scale by rewriting the
# scale-dependent entries (see docs/datasets_and_runtime.md):
#
#   scale = 4
#   test_pipeline = [dict(t, scale=scale) if 'scale' in t else t
#                    for t in _base_.test_pipeline]
#   test_dataloader = [dict(loader, dataset=dict(loader.dataset,
#                                                pipeline=test_pipeline))
#                      for loader in _base_.test_dataloader]
#   val_dataloader = test_dataloader[:2]
#   test_evaluator = [dict(m, crop_border=scale) for m in _base_.test_evaluator]
#   val_evaluator = test_evaluator
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
