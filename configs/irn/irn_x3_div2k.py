# IRN x3 (IJCV extension): learnable ConvDownsampling(3) (a 9x9 matrix shared
# across colours, box-mean initialised) followed by 12 affine couplings on
# 27 channels; lambda_fit_forw = 9. Otherwise the x2 recipe (_irn_base.py)
# on the x3 data.
_base_ = [
    './_irn_base.py', '../_base_/datasets/div2k_train_x3.py',
    '../_base_/datasets/sr_test_x3.py'
]

scale = 3
model = dict(
    generator=dict(scale=scale, block_num=[12], down_type='conv'),
    pixel_loss_forw=dict(loss_weight=scale**2))
