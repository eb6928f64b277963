# SAIN's JPEG recipe without its scale and its data (Yang et al.,
# "Self-Asymmetric Invertible Network for Compression-Aware Image Rescaling",
# AAAI 2023; the official train_SAIN_JPEG_g_5_e_*_v*_x*.yml): the default
# runtime, Adam 2e-4 (betas 0.9/0.999, weight decay 1e-5), gradient norm
# clipped at 10, 500k iterations, lr halved at 100k/200k/300k/400k, seed 10;
# the SAIN model: Haar stages, enhanced + vanilla couplings (DenseBlock
# subnets, growth 32), a 5-component Gaussian-mixture latent, DiffJPEG QF 75
# (Fourier rounding) in the loop and real JPEG QF 75 (Pillow) targets.
# Loss (sums over C,H,W, batch means; lambda = scale^2):
#   rec + (fit1 + fit2 + reg + rel) / lambda
# Not a training config on its own: each sain_x<s>_jpeg_div2k.py inherits it
# with the DIV2K training set and the SR test sets of its scale
# (../_base_/datasets/div2k_train_x<s>.py, sr_test_x<s>.py) and sets the
# scale, the numbers of couplings (generator.e_blocks / v_blocks), lambda
# (pixel_loss_forw.loss_weight = scale**2), the 128x128 GT patches and the
# QF sweep of the test.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/schedules/adam_500k_multistep.py'
]

train_quality = 75

model = dict(
    type='SAIN',
    generator=dict(
        type='SAINNet',
        in_channels=3,
        out_channels=3,
        gmm_components=5,
        subnet=dict(type='DenseBlock', growth=32, init='xavier')),
    pixel_loss_forw=dict(type='MSELoss', reduction='batch_sum'),
    pixel_loss_back=dict(
        type='CharbonnierLoss', loss_weight=1.0, reduction='batch_sum'),
    diff_codec=dict(type='DiffJPEG', quality=train_quality,
                    rounding='fourier'),
    train_codec=dict(type='RealJPEG', quality=train_quality),
    # the codec of validation; the QF sweep of each config replaces it per
    # quality at test time
    test_codec=dict(type='RealJPEG', quality=train_quality),
    train_cfg=dict(seed=None, gaussian_scale=1.0, codec_threads=0),
    test_cfg=dict(latent='gmm', seed=0, gaussian_scale=1.0),
    data_preprocessor=dict(type='DataPreprocessor'))
