# DIV2K training set as IRN trains on it: the 800 HR images, random 144x144
# GT patches, horizontal / vertical flips and transposes (8 orientations),
# and the bicubic LR reference made on the fly with MATLAB's imresize.
#
# The LR is made from the GT patch (fast); IRN makes it from the whole image
# and crops both, which differs only at the patch borders. For IRN's exact
# order, put GenerateBicubicLR before PairedRandomCrop(keys=('gt', 'lr')).
#
# x2 by default. An algorithm config sets its own scale by rewriting the
# scale-dependent transforms (mmengine evaluates this file before the child,
# so a child's `scale = 4` alone would not reach the pipeline):
#
#   scale = 4
#   train_pipeline = [dict(t, scale=scale) if 'scale' in t else t
#                     for t in _base_.train_pipeline]
#   train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
gt_patch_size = 144

train_pipeline = [
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='PairedRandomCrop', gt_patch_size=gt_patch_size, scale=2),
    dict(type='Flip', keys=('gt', 'lr'), direction='horizontal', flip_ratio=0.5),
    dict(type='Flip', keys=('gt', 'lr'), direction='vertical', flip_ratio=0.5),
    dict(type='RandomTranspose', keys=('gt', 'lr'), transpose_ratio=0.5),
    dict(type='GenerateBicubicLR', scale=2, key='gt', out_key='lr'),
    dict(type='PackInputs', input_key='gt'),
]

train_dataloader = dict(
    batch_size=16,  # IRN: 16 on one GPU (divide by the number of GPUs)
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='ImageFolderDataset',
        data_root='data/DIV2K/DIV2K_train_HR',
        metainfo=dict(dataset_name='DIV2K_train'),
        pipeline=train_pipeline))
