# IRN x4: the official train_IRN_x4.yml. Same recipe as x2 with
# two Haar levels of 8 couplings each and lambda_fit_forw = 4^2.
_base_ = './irn_x2_div2k.py'

scale = 4
model = dict(
    generator=dict(scale=scale, block_num=[8, 8]),
    pixel_loss_forw=dict(loss_weight=scale**2))

# rewrite the scale-dependent pipeline entries of the base files
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
