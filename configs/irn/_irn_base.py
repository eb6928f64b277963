# IRN's recipe without its scale and its data (Xiao et al., "Invertible Image
# Rescaling", ECCV 2020; the official train_IRN_x*.yml): the default runtime,
# Adam 2e-4 for 500k iterations (lr halved every 100k), and the IRN model:
# Haar levels of affine couplings with DenseBlock subnets (growth 32), loss
# lambda_fit * l2(LR, bicubic) + 1 * sum(z^2)/N + 1 * Charbonnier(x, x_hat),
# each summed over C,H,W and averaged over the batch; Gaussian latent at test
# time (seed 0).
# Not a training config on its own: each irn_x<s>_div2k.py inherits it with
# the DIV2K training set and the SR test sets of its scale
# (../_base_/datasets/div2k_train_x<s>.py, sr_test_x<s>.py) and sets the
# scale, the couplings per level (generator.block_num) and lambda_fit
# (pixel_loss_forw.loss_weight = scale**2).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/schedules/adam_500k_multistep.py'
]

model = dict(
    type='IRN',
    generator=dict(
        type='IRNNet',
        in_channels=3,
        out_channels=3,
        down_type='haar',
        subnet=dict(type='DenseBlock', growth=32, init='xavier')),
    pixel_loss_forw=dict(type='MSELoss', reduction='batch_sum'),
    latent_loss=dict(type='LatentNLLLoss', loss_weight=1.0),
    pixel_loss_back=dict(
        type='CharbonnierLoss', loss_weight=1.0, reduction='batch_sum'),
    train_cfg=dict(seed=None, gaussian_scale=1.0),
    test_cfg=dict(latent='gaussian', seed=0, gaussian_scale=1.0),
    data_preprocessor=dict(type='DataPreprocessor'))
