# IICNet invertible grayscale data (config supp-gray-01): PASCAL VOC2012
# photographs, one RGB image per sample.
#
# Expected layout:
#   data/VOC2012/JPEGImages/2007_000027.jpg ...
# Point elsewhere with e.g.
#   --cfg-options test_dataloader.0.dataset.data_root=/path/to/JPEGImages
#
# As the official annotation (codes/scripts/voc2012_annotation.py): the files
# sorted by name, images under 144 pixels on a side dropped, the first 13758
# for training and the rest for test. Training takes random 144x144 patches,
# batch 2; test uses full images, batch 1. The grey reference is made by the
# task (GrayscaleEmbedding), not by the pipeline.
data_root = 'data/VOC2012/JPEGImages'
crop_size = 144
num_train = 13758

train_pipeline = [
    dict(type='LoadImages'),
    dict(type='RandomCropImages', crop_size=crop_size),
    dict(type='PackImages'),
]
test_pipeline = [
    dict(type='LoadImages'),
    dict(type='PackImages'),
]
val_pipeline = test_pipeline


def _voc(name, pipeline, group_slice, **kwargs):
    return dict(
        type='ImageGroupDataset',
        data_root=data_root,
        group_size=1,
        seed=None,
        min_size=crop_size,
        group_slice=group_slice,
        metainfo=dict(dataset_name=name),
        pipeline=pipeline,
        **kwargs)


train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=_voc('VOC2012_train', train_pipeline, (0, num_train)))

test_dataloader = [
    dict(
        batch_size=1,  # full images of different sizes
        num_workers=2,
        persistent_workers=False,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=_voc('VOC2012_test', test_pipeline, (num_train, None),
                     test_mode=True))
]
val_dataloader = test_dataloader

val_cfg = dict(type='MultiValLoop')
test_cfg = dict(type='MultiTestLoop')
