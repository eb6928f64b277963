# The DIV2K training set of div2k_train_x2.py (the same images, loader,
# 144x144 GT patches, flips and transposes) at x3: patches cut on the x3 grid
# and the x3 MATLAB-bicubic LR reference made from each patch.
_base_ = ['./div2k_train_x2.py']

train_pipeline = [
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='PairedRandomCrop', gt_patch_size=_base_.gt_patch_size,
         scale=3),
    dict(type='Flip', keys=('gt', 'lr'), direction='horizontal', flip_ratio=0.5),
    dict(type='Flip', keys=('gt', 'lr'), direction='vertical', flip_ratio=0.5),
    dict(type='RandomTranspose', keys=('gt', 'lr'), transpose_ratio=0.5),
    dict(type='GenerateBicubicLR', scale=3, key='gt', out_key='lr'),
    dict(type='PackInputs', input_key='gt'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
