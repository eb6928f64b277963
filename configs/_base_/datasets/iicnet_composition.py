# IICNet composition / decomposition data (config adobe-01): Adobe Deep
# Matting composites with their background and foreground layers.
#
# Expected layout (three parallel folders matched by file stem; extensions
# may differ between folders):
#   data/Adobe/train/composite/<stem>.png   data/Adobe/test/composite/...
#   data/Adobe/train/background/<stem>.jpg  data/Adobe/test/background/...
#   data/Adobe/train/foreground/<stem>.png  data/Adobe/test/foreground/...
# Real-Matting (real-01, 2 images [frame, background]): set
#   folders=('frame', 'background') on the datasets and
#   CompositionDecomposition(num_images=2) as the task.
# Point elsewhere with e.g.
#   --cfg-options test_dataloader.0.dataset.data_root=/path/to/Adobe/test
#
# As the official loader: training resizes whole images to 256x256 with
# cv2 INTER_LINEAR, batch 1; test halves them (H // 2, W // 2), batch 1.
# Samples are (3, 3, H, W) uint8 [composite, background, foreground].
# The evaluators belong to the model configs (configs/iicnet/).
data_root = 'data/Adobe'
folders = ('composite', 'background', 'foreground')

train_pipeline = [
    dict(type='LoadImages'),
    dict(type='ResizeImages', size=256),
    dict(type='PackImages'),
]
test_pipeline = [
    dict(type='LoadImages'),
    dict(type='ResizeImages', downsample=2),
    dict(type='PackImages'),
]
val_pipeline = test_pipeline

train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='MultiFolderDataset',
        data_root=f'{data_root}/train',
        folders=folders,
        metainfo=dict(dataset_name='Adobe_train'),
        pipeline=train_pipeline))

test_dataloader = [
    dict(
        batch_size=1,  # full images of different sizes
        num_workers=2,
        persistent_workers=False,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='MultiFolderDataset',
            data_root=f'{data_root}/test',
            folders=folders,
            metainfo=dict(dataset_name='Adobe_test'),
            test_mode=True,
            pipeline=test_pipeline))
]
val_dataloader = test_dataloader

val_cfg = dict(type='MultiValLoop')
test_cfg = dict(type='MultiTestLoop')
