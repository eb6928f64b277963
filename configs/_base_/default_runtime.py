# Runtime shared by every invtoolbox config: scope, environment, default
# hooks, logging, visualisation, checkpoint loading and seeding.
default_scope = 'invtoolbox'

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # NCCL on GPUs; on a CPU-only machine tools/train.py sets up gloo itself
    # (see docs/tools.md).
    dist_cfg=dict(backend='nccl'),
)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=5000,
        by_epoch=False,
        max_keep_ckpts=10,
        save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)

# GT | LR | restored | 10x error grids in {work_dir}/vis/ and the vis backends,
# every 5000 training iterations and for every test image.
custom_hooks = [dict(type='VisualizationHook', interval=5000)]

log_processor = dict(type='LogProcessor', window_size=100, by_epoch=False)

visualizer = dict(
    type='RestorationVisualizer',
    vis_backends=[
        dict(type='LocalVisBackend'),
        # a no-op until TensorBoard is installed (pip install "invtoolbox[tb]")
        dict(type='OptionalTensorboardVisBackend'),
    ])

log_level = 'INFO'
load_from = None
resume = False

# IRN / SAIN train with manual_seed 10.
randomness = dict(seed=10, diff_rank_seed=False, deterministic=False)
