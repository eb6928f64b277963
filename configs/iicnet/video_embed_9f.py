# IICNet video embedding, official config st-05: 9 DAVIS-2017 frames into one
# image (the st-04 setting, video_embed_7f.py, with 9 frames); relation
# module, 10 couplings; 13,575,972 parameters. The official test lists clips
# with frame steps 1, 3 and 5; set test_dataloader.0.dataset.frame_step to
# evaluate another step.
_base_ = './video_embed_7f.py'

num_frames = 9
model = dict(task=dict(num_frames=num_frames))
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
