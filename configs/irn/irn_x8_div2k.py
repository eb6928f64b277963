# IRN x8: the official train_IRN_x8.yml. Same recipe as x2 (_irn_base.py)
# with three Haar levels of 8 couplings each and lambda_fit_forw = 8^2, on
# the x8 data.
_base_ = [
    './_irn_base.py', '../_base_/datasets/div2k_train_x8.py',
    '../_base_/datasets/sr_test_x8.py'
]

scale = 8
model = dict(
    generator=dict(scale=scale, block_num=[8, 8, 8]),
    pixel_loss_forw=dict(loss_weight=scale**2))
