# IRN x4: the official train_IRN_x4.yml. Same recipe as x2 (_irn_base.py)
# with two Haar levels of 8 couplings each and lambda_fit_forw = 4^2, on the
# x4 data.
_base_ = [
    './_irn_base.py', '../_base_/datasets/div2k_train_x4.py',
    '../_base_/datasets/sr_test_x4.py'
]

scale = 4
model = dict(
    generator=dict(scale=scale, block_num=[8, 8]),
    pixel_loss_forw=dict(loss_weight=scale**2))
