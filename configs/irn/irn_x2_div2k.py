# IRN x2 (Xiao et al., "Invertible Image Rescaling", ECCV 2020), the official
# train_IRN_x2.yml: Haar + 8 affine couplings (DenseBlock subnets, growth 32),
# DIV2K 144x144 GT patches, batch 16, Adam 2e-4, 500k iterations.
# Loss: 4 * l2(LR, bicubic) + 1 * sum(z^2)/N + 1 * Charbonnier(x, x_hat),
# each summed over C,H,W and averaged over the batch.
# Test: Set5/Set14/BSD100/Urban100/DIV2K-val, Y-PSNR/SSIM, crop = scale,
# Gaussian latent (seed 0).
# The model and schedule shared by every scale are in _irn_base.py; the data
# of each scale in ../_base_/datasets/*_x<scale>.py.
_base_ = [
    './_irn_base.py', '../_base_/datasets/div2k_train_x2.py',
    '../_base_/datasets/sr_test_x2.py'
]

scale = 2
model = dict(
    generator=dict(scale=scale, block_num=[8]),
    pixel_loss_forw=dict(loss_weight=scale**2))
