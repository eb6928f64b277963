# IICNet image rescaling x2 (supplement), official config supp-sr-01: a DIV2K
# image into its half-size version that looks like the MATLAB-bicubic LR
# (the IRN task with IICNet's network); relation module (1 image), squeeze
# x2 in 'hl' order + invertible 1x1 conv, 16 couplings (split 3/9);
# restoration weight 3 (not the 0.4 of the video x2 configs); 3,964,022
# parameters. Random 144x144 HR crops, batch 2; DIV2K train (800) to train,
# DIV2K valid (100) to validate and test, full images cropped to even sizes.
_base_ = './dual_view_x2.py'

model = dict(
    task=dict(_delete_=True, type='ImageRescaling', scale=2),
    generator=dict(
        block_num=16,
        down=dict(type='squeeze', order='hl', use_conv1x1=True)),
    losses=dict(restore_loss=dict(
        type='CharbonnierLoss', loss_weight=3.0, reduction='batch_sum')))

train_pipeline = [
    dict(type='LoadImages'),
    dict(type='RandomCropImages', crop_size=144),
    dict(type='PackImages'),
]
test_pipeline = [
    dict(type='LoadImages'),
    dict(type='ModCropImages', scale=2),
    dict(type='PackImages'),
]
val_pipeline = test_pipeline
train_dataloader = dict(
    dataset=dict(
        group_slice=None,
        pipeline=train_pipeline,
        metainfo=dict(dataset_name='DIV2K_train')))
test_dataloader = [
    dict(loader, dataset=dict(loader.dataset, pipeline=test_pipeline))
    for loader in _base_.test_dataloader
]
val_dataloader = test_dataloader
