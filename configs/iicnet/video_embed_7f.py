# IICNet video embedding, official config st-04: 7 DAVIS-2017 frames into one
# image; relation module, 10 couplings; 9,895,844 parameters.
_base_ = ['./_iicnet_runtime.py', '../_base_/datasets/iicnet_video.py']

num_frames = 7
model = dict(task=dict(type='VideoEmbedding', num_frames=num_frames))
train_dataloader = dict(dataset=dict(datasets=[
    dict(d, num_frames=num_frames)
    for d in _base_.train_dataloader.dataset.datasets
]))
val_dataloader = [
    dict(loader, dataset=dict(loader.dataset, num_frames=num_frames))
    for loader in _base_.val_dataloader
]
test_dataloader = [
    dict(loader, dataset=dict(loader.dataset, num_frames=num_frames))
    for loader in _base_.test_dataloader
]
