# Example plugin config: embed a 3-shot exposure bracket (-1, 0, +1 EV),
# simulated from the photographs of invtoolbox's demo set, into one image
# that looks like the bracket's exposure fusion, with IICNet.
#
# From the invtoolbox repository root:
#   pip install -e projects/example_plugin      # or: PYTHONPATH=projects/example_plugin
#   python tools/train.py projects/example_plugin/configs/exposure_bracket_demo.py
#
# The task and the transform live in the invtb_exposure package; this line
# imports it (an installed plugin is also found through its
# invtoolbox.plugins entry point, without this line).
custom_imports = dict(imports=['invtb_exposure'], allow_failed_imports=False)

_base_ = ['../../../configs/iicnet/_iicnet_runtime.py']

# a CPU-sized IICNet (the official one is in configs/iicnet/_iicnet_runtime.py)
model = dict(
    task=dict(type='ExposureBracketEmbedding', num_images=3),
    generator=dict(
        block_num=4,
        rel_channels=16,
        subnet=dict(type='DenseBlock', growth=16, init='xavier')))

crop = 64
train_pipeline = [
    dict(type='LoadImages'),
    dict(type='RandomCropImages', crop_size=crop),
    dict(type='SimulateExposureBracket', evs=(-1., 0., 1.)),
    dict(type='PackImages'),
]
val_pipeline = [
    dict(type='LoadImages'),
    dict(type='CenterCropImages', crop_size=128),
    dict(type='SimulateExposureBracket', evs=(-1., 0., 1.)),
    dict(type='PackImages'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='ImageGroupDataset',
        data_root='demo/data/train',
        group_size=1,
        seed=None,
        metainfo=dict(dataset_name='demo_train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ImageGroupDataset',
        data_root='demo/data/val',
        group_size=1,
        seed=None,
        test_mode=True,
        metainfo=dict(dataset_name='demo_val'),
        pipeline=val_pipeline))
test_dataloader = val_dataloader
val_cfg = dict(type='MultiValLoop')
test_cfg = dict(type='MultiTestLoop')

max_iters = 2000
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=500)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = dict(
    _delete_=True, type='CosineAnnealingLR', by_epoch=False, T_max=max_iters,
    eta_min=1e-5)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='AtomicCheckpointHook', interval=500, by_epoch=False,
                    max_keep_ckpts=1))
custom_hooks = [
    dict(type='VisualizationHook', interval=500, gt_key='ref_img',
         pred_key='pred_embed', lr_keys=())
]
