# IICNet dual-view embedding x8, official config dual-03: the dual-01 setting
# (dual_view_x2.py) with an 8x zoom between the views; relation module, 10
# couplings; 3,276,004 parameters. As the official lists, training images
# whose x8 LR view is under 144 pixels on a side (HR under 1152) are dropped
# and the last 50 of the rest validate.
_base_ = './dual_view_x2.py'

view_scale = 8
min_size = 144 * view_scale
model = dict(task=dict(view_scale=view_scale))


def _zoom(pipeline):
    return [
        dict(t, view_scale=view_scale) if 'view_scale' in t else t
        for t in pipeline
    ]


train_dataloader = dict(
    dataset=dict(
        pipeline=_zoom(_base_.train_dataloader.dataset.pipeline),
        min_size=min_size,
        group_slice=(0, -50)))
val_dataloader = [
    dict(loader, dataset=dict(loader.dataset,
                              pipeline=_zoom(loader.dataset.pipeline),
                              min_size=min_size, group_slice=(-50, None)))
    for loader in _base_.val_dataloader
]
test_dataloader = [
    dict(loader, dataset=dict(loader.dataset,
                              pipeline=_zoom(loader.dataset.pipeline)))
    for loader in _base_.test_dataloader
]
