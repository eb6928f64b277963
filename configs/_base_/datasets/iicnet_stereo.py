# IICNet binocular mononizing data (configs mono-01..mono-03): Flickr1024.
#
# Expected layout (Flickr1024's official splits, files <id>_L.png / <id>_R.png):
#   data/Flickr1024/Train/0001_L.png, 0001_R.png, ...   (Train_1..4 merged)
#   data/Flickr1024/Validation/0001_L.png, ...
#   data/Flickr1024/Test/0001_L.png, ...
# Folder-per-pair data (<pair>/left.png, <pair>/right.png, e.g. Middlebury)
# works with left='left.png', right='right.png' (StereoPairDataset's default).
# Point elsewhere with e.g.
#   --cfg-options test_dataloader.0.dataset.data_root=/path/to/Flickr1024/Test
#
# As the official loader, the two views are cropped to their common top-left
# region when their sizes differ (LoadImages(size_mismatch='crop')); training
# crops 144x144 patches (one window for both views), batch 2, no flips;
# validation and test use full images at batch 1. Samples are (2, 3, H, W)
# uint8 [left, right]. The evaluators belong to the model configs.
data_root = 'data/Flickr1024'
crop_size = 144
views = dict(left='{}_L.png', right='{}_R.png')

train_pipeline = [
    dict(type='LoadImages', size_mismatch='crop'),
    dict(type='RandomCropImages', crop_size=crop_size),
    dict(type='PackImages'),
]
val_pipeline = [
    dict(type='LoadImages', size_mismatch='crop'),
    dict(type='PackImages'),
]
test_pipeline = val_pipeline

train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='StereoPairDataset',
        data_root=f'{data_root}/Train',
        metainfo=dict(dataset_name='Flickr1024_train'),
        pipeline=train_pipeline,
        **views))


def _eval_loader(split, name, pipeline):
    return dict(
        batch_size=1,  # full images of different sizes
        num_workers=2,
        persistent_workers=False,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='StereoPairDataset',
            data_root=f'{data_root}/{split}',
            metainfo=dict(dataset_name=name),
            test_mode=True,
            pipeline=pipeline,
            **views))


val_dataloader = [_eval_loader('Validation', 'Flickr1024_val', val_pipeline)]
test_dataloader = [_eval_loader('Test', 'Flickr1024_test', test_pipeline)]

val_cfg = dict(type='MultiValLoop')
test_cfg = dict(type='MultiTestLoop')
