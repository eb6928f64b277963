# IRN x3 (IJCV extension): learnable ConvDownsampling(3) (a 9x9 matrix shared
# across colours, box-mean initialised) followed by 12 affine couplings on
# 27 channels; lambda_fit_forw = 9.
_base_ = './irn_x2_div2k.py'

scale = 3
model = dict(
    generator=dict(scale=scale, block_num=[12], down_type='conv'),
    pixel_loss_forw=dict(loss_weight=scale**2))

train_pipeline = [
    dict(t, scale=scale) if 'scale' in t else t
    for t in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
test_pipeline = [
    dict(t, scale=scale) if 'scale' in t else t for t in _base_.test_pipeline
]
test_dataloader = [
    dict(loader, dataset=dict(loader.dataset, pipeline=test_pipeline))
    for loader in _base_.test_dataloader
]
val_dataloader = test_dataloader[:2]
test_evaluator = [dict(m, crop_border=scale) for m in _base_.test_evaluator]
val_evaluator = test_evaluator
