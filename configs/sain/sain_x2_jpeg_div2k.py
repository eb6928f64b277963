# SAIN x2 JPEG (Yang et al., "Self-Asymmetric Invertible Network for
# Compression-Aware Image Rescaling", AAAI 2023), the official
# train_SAIN_JPEG_g_5_e_5_v3_x2.yml: Haar + 5 enhanced + 3 vanilla couplings
# (DenseBlock subnets, growth 32), a 5-component Gaussian-mixture latent,
# DIV2K 128x128 GT patches, batch 16, Adam 2e-4 (betas 0.9/0.999, weight
# decay 1e-5), gradient norm clipped at 10, 500k iterations, lr halved at
# 100k/200k/300k/400k, flips + transposes, seed 10.
# Loss (sums over C,H,W, batch means; lambda = scale^2 = 4):
#   rec + (fit1 + fit2 + reg + rel) / 4, with DiffJPEG QF 75 (Fourier
#   rounding) in the loop and real JPEG QF 75 (Pillow) targets.
# Validation: Set5/Set14 with the LR through real JPEG QF 75 (as the official
# training-time validation). Test: the QF sweep of the paper (real JPEG QF
# 30/50/70/80/90) on Set5/Set14/BSD100/Urban100/DIV2K-val, Y-PSNR/SSIM with
# crop = scale, GMM latent (seed 0):
#   python tools/test.py configs/sain/sain_x2_jpeg_div2k.py CKPT
# Difference from the official data: the LR reference is made on the fly
# with MATLAB-exact bicubic from each GT patch; the official code reads
# pre-extracted DIV2K sub-images and their official bicubic X2 files.
# The model and schedule shared by both scales are in _sain_base.py; the data
# of each scale in ../_base_/datasets/*_x<scale>.py.
_base_ = [
    './_sain_base.py', '../_base_/datasets/div2k_train_x2.py',
    '../_base_/datasets/sr_test_x2.py'
]

scale = 2
model = dict(
    generator=dict(scale=scale, e_blocks=5, v_blocks=3),
    pixel_loss_forw=dict(loss_weight=scale**2))

# 128x128 GT patches (IRN uses 144, whose x2 LR is not a multiple of 16)
train_pipeline = [
    dict(t, gt_patch_size=128) if t['type'] == 'PairedRandomCrop' else t
    for t in _base_.train_pipeline
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))

test_cfg = dict(
    type='CodecSweepTestLoop',
    codecs=[dict(type='RealJPEG', quality=q) for q in (30, 50, 70, 80, 90)])
