# IICNet image hiding data (configs hide-01..hide-06): Flickr 2W photographs
# grouped into [cover, secret1, ...].
#
# Expected layout (one flat folder of images):
#   data/flickr_2W/<name>.jpg ...
# Point elsewhere with e.g.
#   --cfg-options test_dataloader.0.dataset.data_root=/path/to/flickr_2W
#
# As the official annotation (codes/scripts/flicker_annotation.py): the files
# sorted by name, images under 576 pixels on a side dropped, consecutive
# groups of `group_size`, split 70 / 10 / 20 % into train / val / test.
# Each image is centre-cropped to 576x576 for evaluation; training takes a
# random 144x144 patch of each image (its own window: covers and secrets
# are unrelated photographs), batch 2.
#
# One secret (hide-01) by default. A child config sets more with
#   group_size = 3   # cover + 2 secrets
#   train_dataloader = dict(dataset=dict(group_size=group_size))
#   val_dataloader = [dict(l, dataset=dict(l.dataset, group_size=group_size))
#                     for l in _base_.val_dataloader]
#   test_dataloader = [dict(l, dataset=dict(l.dataset, group_size=group_size))
#                      for l in _base_.test_dataloader]
data_root = 'data/flickr_2W'
group_size = 2
crop_size = 144
eval_size = 576

train_pipeline = [
    dict(type='LoadImages', size_mismatch='keep'),
    dict(type='RandomCropImages', crop_size=crop_size, same_window=False),
    dict(type='PackImages'),
]
val_pipeline = [
    dict(type='LoadImages', size_mismatch='keep'),
    dict(type='CenterCropImages', crop_size=eval_size),
    dict(type='PackImages'),
]
test_pipeline = val_pipeline


def _groups(split, pipeline, **kwargs):
    return dict(
        type='ImageGroupDataset',
        data_root=data_root,
        group_size=group_size,
        seed=None,
        min_size=eval_size,
        split=split,
        metainfo=dict(dataset_name=f'Flickr2W_{split}'),
        pipeline=pipeline,
        **kwargs)


train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=_groups('train', train_pipeline))


def _eval_loader(dataset):
    return dict(
        batch_size=1,
        num_workers=2,
        persistent_workers=False,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dataset)


val_dataloader = [_eval_loader(_groups('val', val_pipeline, test_mode=True))]
test_dataloader = [
    _eval_loader(_groups('test', test_pipeline, test_mode=True))
]

val_cfg = dict(type='MultiValLoop')
test_cfg = dict(type='MultiTestLoop')
