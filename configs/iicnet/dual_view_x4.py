# IICNet dual-view embedding x4, official config dual-02: the dual-01 setting
# (dual_view_x2.py) with a 4x zoom between the views: [the LR full view
# (DIV2K bicubic x4), the HR centre crop of the same size]; relation module,
# 10 couplings; 3,276,004 parameters. 144x144 LR crops, batch 2.
_base_ = './dual_view_x2.py'

view_scale = 4
model = dict(task=dict(view_scale=view_scale))


def _zoom(pipeline):
    return [
        dict(t, view_scale=view_scale) if 'view_scale' in t else t
        for t in pipeline
    ]


train_dataloader = dict(
    dataset=dict(pipeline=_zoom(_base_.train_dataloader.dataset.pipeline)))
val_dataloader = [
    dict(loader, dataset=dict(loader.dataset,
                              pipeline=_zoom(loader.dataset.pipeline)))
    for loader in _base_.val_dataloader
]
test_dataloader = [
    dict(loader, dataset=dict(loader.dataset,
                              pipeline=_zoom(loader.dataset.pipeline)))
    for loader in _base_.test_dataloader
]
