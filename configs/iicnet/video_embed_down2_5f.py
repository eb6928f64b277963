# IICNet spatio-temporal embedding, official config st-07: 5 DAVIS-2017
# frames into one half-size image (the st-06 setting, video_embed_down2.py,
# with 5 frames and a squeeze in 'ref' order, i.e. each frame's four
# subpixel bands together, instead of Haar 'hl'); invertible 1x1 conv,
# 10 couplings (split 12/48); restoration weight 0.4; 8,510,950 parameters.
_base_ = './video_embed_down2.py'

num_frames = 5
model = dict(
    task=dict(num_frames=num_frames),
    generator=dict(down=dict(type='squeeze', order='ref', use_conv1x1=True)))
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
