# IRN / SAIN optimisation (Xiao et al. 2020, Yang et al. 2023): Adam, lr 2e-4,
# betas (0.9, 0.999), weight decay 1e-5, gradient norm clipped at 10, lr
# halved at 100k / 200k / 300k / 400k, 500k iterations.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='Adam', lr=2e-4, betas=(0.9, 0.999), weight_decay=1e-5),
    clip_grad=dict(max_norm=10.))

param_scheduler = dict(
    type='MultiStepLR',
    by_epoch=False,
    milestones=[100000, 200000, 300000, 400000],
    gamma=0.5)

train_cfg = dict(type='IterBasedTrainLoop', max_iters=500000, val_interval=5000)
