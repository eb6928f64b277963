# IICNet video embedding data (configs st-01..st-07): DAVIS-2017 480p clips.
#
# Expected layout (the three DAVIS-2017 releases, unzipped side by side):
#   data/DAVIS/DAVIS-2017-trainval/JPEGImages/480p/<scene>/00000.jpg ...
#   data/DAVIS/DAVIS-2017-test-dev/JPEGImages/480p/<scene>/00000.jpg ...
#   data/DAVIS/DAVIS-2017-test-challenge/JPEGImages/480p/<scene>/00000.jpg ...
# Point elsewhere with tools/train.py / test.py --data-root DIR (DIR holds
# the three DAVIS-2017-<release> folders: every dataset below keeps its
# sub-folder of data_root), or per dataset, e.g.
#   --cfg-options test_dataloader.0.dataset.data_root=/x/DAVIS-2017-test-challenge
# Without DAVIS: configs/iicnet/video_embed_quickstart.py trains on the
# bundled demo clips, and README.md#your-own-video-clips points it at
# yours. The tools end a missing-data error with data_hint.
#
# Official splits and clips (codes/scripts/davis_annotation.py):
#   train = trainval + the even-indexed test-dev scenes, clips of 5 frames
#           taken every 5 frames, a clip starting at every frame;
#   val   = the odd-indexed test-dev scenes, the same clips;
#   test  = test-challenge, clips of consecutive frames (frame_step 1).
# Training crops 144x144 patches (the same window for all frames), batch 2,
# no flips; validation and test use full frames at batch 1.
#
# Samples are (K, 3, H, W) uint8 frames in time order; the task
# (VideoEmbedding) moves the middle frame first for the network.
# The evaluators belong to the model configs (configs/iicnet/).
#
# 7 / 9 frames (st-04 / st-05): a child rewrites num_frames everywhere:
#   num_frames = 7
#   train_dataloader = dict(dataset=dict(datasets=[
#       dict(d, num_frames=num_frames)
#       for d in _base_.train_dataloader.dataset.datasets]))
#   val_dataloader = [dict(l, dataset=dict(l.dataset, num_frames=num_frames))
#                     for l in _base_.val_dataloader]
#   test_dataloader = [dict(l, dataset=dict(l.dataset, num_frames=num_frames))
#                      for l in _base_.test_dataloader]
# With x2 spatio-temporal downscaling (st-06 / st-07), full frames must have
# even sizes: add dict(type='ModCropImages', scale=2) before PackImages in
# val_pipeline / test_pipeline.
data_root = 'data/DAVIS'
data_hint = (
    'No DAVIS-2017? Try the bundled demo clips: python tools/train.py '
    'configs/iicnet/video_embed_quickstart.py; for your own clips see '
    'README.md#your-own-video-clips (--data-root DIR); for DAVIS elsewhere '
    'pass --data-root DIR with DIR holding DAVIS-2017-trainval/, '
    'DAVIS-2017-test-dev/ and DAVIS-2017-test-challenge/.')
num_frames = 5
crop_size = 144

train_pipeline = [
    dict(type='LoadImages'),
    dict(type='RandomCropImages', crop_size=crop_size),
    dict(type='PackImages'),
]
val_pipeline = [
    dict(type='LoadImages'),
    dict(type='PackImages'),
]
test_pipeline = val_pipeline


def _davis(release, frame_step, pipeline, **kwargs):
    return dict(
        type='VideoClipDataset',
        data_root=f'{data_root}/DAVIS-2017-{release}',
        layout='davis',
        num_frames=num_frames,
        frame_step=frame_step,
        pipeline=pipeline,
        **kwargs)


train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            _davis('trainval', 5, train_pipeline,
                   metainfo=dict(dataset_name='DAVIS_train')),
            _davis('test-dev', 5, train_pipeline,
                   sequence_slice=(0, None, 2),
                   metainfo=dict(dataset_name='DAVIS_train')),
        ]))

val_dataloader = [
    dict(
        batch_size=1,  # full frames
        num_workers=2,
        persistent_workers=False,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=_davis('test-dev', 5, val_pipeline,
                       sequence_slice=(1, None, 2), test_mode=True,
                       metainfo=dict(dataset_name='DAVIS_val')))
]
test_dataloader = [
    dict(
        batch_size=1,
        num_workers=2,
        persistent_workers=False,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=_davis('test-challenge', 1, test_pipeline, test_mode=True,
                       metainfo=dict(dataset_name='DAVIS_test')))
]

val_cfg = dict(type='MultiValLoop')
test_cfg = dict(type='MultiTestLoop')
