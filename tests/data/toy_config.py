# Tiny training config for the tools tests (needs tests/data on PYTHONPATH).
custom_imports = dict(imports=['toy_plugin'], allow_failed_imports=False)
default_scope = 'invtoolbox'

model = dict(type='ToyRestorer', channels=8, noise_std=0.05)

train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='ToyDataset', num_samples=16, size=8, augment=True))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ToyDataset', num_samples=4, size=8, augment=False,
                 seed=1))
test_dataloader = val_dataloader
val_evaluator = dict(type='ToyPSNR')
test_evaluator = val_evaluator

train_cfg = dict(type='IterBasedTrainLoop', max_iters=8, val_interval=3)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-2))
param_scheduler = dict(
    type='MultiStepLR', milestones=[5], gamma=0.5, by_epoch=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=1),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=3, by_epoch=False),
    sampler_seed=dict(type='DistSamplerSeedHook'))
custom_hooks = [dict(type='ToyCrashHook'), dict(type='ToyFinalWeightsHook')]

log_processor = dict(by_epoch=False, window_size=1)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_level = 'INFO'
randomness = dict(seed=0)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
