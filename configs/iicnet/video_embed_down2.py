# IICNet spatio-temporal embedding, official config st-06: 3 DAVIS-2017
# frames into one half-size image (the middle frame halved is the
# reference); relation module, Haar x2 in 'hl' order + invertible 1x1 conv,
# 10 couplings (split 9/27); restoration weight 0.4; 5,300,850 parameters
# (the 144 fixed Haar filters included).
_base_ = ['./_iicnet_runtime.py', '../_base_/datasets/iicnet_video.py']

num_frames = 3
model = dict(
    task=dict(type='VideoEmbedding', num_frames=num_frames, scale=2),
    generator=dict(down=dict(type='haar', order='hl', use_conv1x1=True)),
    losses=dict(restore_loss=dict(
        type='CharbonnierLoss', loss_weight=0.4, reduction='batch_sum')))

# full frames must have even sizes for the x2 stage
_eval_pipeline = [
    dict(type='LoadImages'),
    dict(type='ModCropImages', scale=2),
    dict(type='PackImages'),
]
train_dataloader = dict(dataset=dict(datasets=[
    dict(d, num_frames=num_frames)
    for d in _base_.train_dataloader.dataset.datasets
]))
val_dataloader = [
    dict(loader, dataset=dict(loader.dataset, num_frames=num_frames,
                              pipeline=_eval_pipeline))
    for loader in _base_.val_dataloader
]
test_dataloader = [
    dict(loader, dataset=dict(loader.dataset, num_frames=num_frames,
                              pipeline=_eval_pipeline))
    for loader in _base_.test_dataloader
]
