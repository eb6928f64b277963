# DIV2K training set as IRN trains on it: the 800 HR images, random 144x144
# GT patches, horizontal / vertical flips and transposes (8 orientations),
# and the bicubic LR reference made on the fly with MATLAB's imresize.
#
# The LR is made from the GT patch (fast); IRN makes it from the whole image
# and crops both, which differs only at the patch borders. For IRN's exact
# order, put GenerateBicubicLR before PairedRandomCrop(keys=('gt', 'lr')).
#
# This file is the x2 version; div2k_train_x3.py, div2k_train_x4.py and
# div2k_train_x8.py are the same images, loader and patches at x3 / x4 / x8
# (the scale of PairedRandomCrop and GenerateBicubicLR). An algorithm config
# picks its scale by inheriting the matching file (see sr_test_x2.py).
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
