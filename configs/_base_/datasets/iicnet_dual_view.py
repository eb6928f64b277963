# IICNet dual-view embedding data (configs dual-01/02/03 = x2 / x4 / x8):
# DIV2K HR images; each sample is [LR full view, HR centre crop].
#
# Expected layout (only the HR images are needed: the LR view is made on the
# fly with MATLAB bicubic, as DIV2K's LR_bicubic files were, rounded to 8 bits):
#   data/DIV2K/DIV2K_train_HR/0001.png .. 0800.png
#   data/DIV2K/DIV2K_valid_HR/0801.png .. 0900.png
# Point elsewhere with e.g.
#   --cfg-options test_dataloader.0.dataset.data_root=/path/to/DIV2K_valid_HR
#
# Official splits: train = the first 750 training images, val = the last 50,
# test = DIV2K valid (100). Training: a random 144x144 LR window and the HR
# region it covers (144 * view_scale), centre-cropped to 144; batch 2, no
# flips. Validation / test: the full LR view and the HR centre crop of the
# same size, batch 1.
#
# x2 by default. A child config sets its own zoom by rewriting the pipelines:
#   view_scale = 4
#   train_pipeline = [dict(t, view_scale=view_scale) if 'view_scale' in t
#                     else t for t in _base_.train_pipeline]
#   ... (the same for val_pipeline / test_pipeline and the loaders)
# For x8 the official lists drop images whose LR view is under 144 pixels:
# add min_size=1152 to the training dataset (and re-derive the 750 / 50 split).
data_root = 'data/DIV2K'
crop_size = 144
view_scale = 2

train_pipeline = [
    dict(type='LoadImages'),
    dict(type='GenerateDualView', view_scale=view_scale, crop_size=crop_size),
    dict(type='PackImages'),
]
val_pipeline = [
    dict(type='LoadImages'),
    dict(type='GenerateDualView', view_scale=view_scale),
    dict(type='PackImages'),
]
test_pipeline = val_pipeline


def _div2k(folder, name, pipeline, **kwargs):
    return dict(
        type='ImageGroupDataset',
        data_root=f'{data_root}/{folder}',
        group_size=1,
        seed=None,  # sorted file order, as the official lists
        metainfo=dict(dataset_name=name),
        pipeline=pipeline,
        **kwargs)


train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=_div2k('DIV2K_train_HR', 'DIV2K_train', train_pipeline,
                   group_slice=(0, 750)))


def _eval_loader(dataset):
    return dict(
        batch_size=1,  # full images of different sizes
        num_workers=2,
        persistent_workers=False,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dataset)


val_dataloader = [
    _eval_loader(
        _div2k('DIV2K_train_HR', 'DIV2K_train_last50', val_pipeline,
               group_slice=(750, 800), test_mode=True))
]
test_dataloader = [
    _eval_loader(
        _div2k('DIV2K_valid_HR', 'DIV2K_val', test_pipeline, test_mode=True))
]

val_cfg = dict(type='MultiValLoop')
test_cfg = dict(type='MultiTestLoop')
