# IRN x2 (Xiao et al., "Invertible Image Rescaling", ECCV 2020), the official
# train_IRN_x2.yml: Haar + 8 affine couplings (DenseBlock subnets, growth 32),
# DIV2K 144x144 GT patches, batch 16, Adam 2e-4, 500k iterations.
# Loss: 4 * l2(LR, bicubic) + 1 * sum(z^2)/N + 1 * Charbonnier(x, x_hat),
# each summed over C,H,W and averaged over the batch.
# Test: Set5/Set14/BSD100/Urban100/DIV2K-val, Y-PSNR/SSIM, crop = scale,
# Gaussian latent (seed 0).
_base_ = [
    '../_base_/default_runtime.py', '../_base_/datasets/div2k_train.py',
    '../_base_/datasets/sr_test.py',
    '../_base_/schedules/adam_500k_multistep.py'
]

scale = 2
model = dict(
    type='IRN',
    generator=dict(
        type='IRNNet',
        in_channels=3,
        out_channels=3,
        scale=scale,
        block_num=[8],
        down_type='haar',
        subnet=dict(type='DenseBlock', growth=32, init='xavier')),
    pixel_loss_forw=dict(
        type='MSELoss', loss_weight=scale**2, reduction='batch_sum'),
    latent_loss=dict(type='LatentNLLLoss', loss_weight=1.0),
    pixel_loss_back=dict(
        type='CharbonnierLoss', loss_weight=1.0, reduction='batch_sum'),
    train_cfg=dict(seed=None, gaussian_scale=1.0),
    test_cfg=dict(latent='gaussian', seed=0, gaussian_scale=1.0),
    data_preprocessor=dict(type='DataPreprocessor'))
