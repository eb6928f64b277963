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
_base_ = [
    '../_base_/default_runtime.py', '../_base_/datasets/div2k_train.py',
    '../_base_/datasets/sr_test.py',
    '../_base_/schedules/adam_500k_multistep.py'
]

scale = 2
train_quality = 75

model = dict(
    type='SAIN',
    generator=dict(
        type='SAINNet',
        in_channels=3,
        out_channels=3,
        scale=scale,
        e_blocks=5,
        v_blocks=3,
        gmm_components=5,
        subnet=dict(type='DenseBlock', growth=32, init='xavier')),
    pixel_loss_forw=dict(
        type='MSELoss', loss_weight=scale**2, reduction='batch_sum'),
    pixel_loss_back=dict(
        type='CharbonnierLoss', loss_weight=1.0, reduction='batch_sum'),
    diff_codec=dict(type='DiffJPEG', quality=train_quality,
                    rounding='fourier'),
    train_codec=dict(type='RealJPEG', quality=train_quality),
    # the codec of validation; the QF sweep below replaces it per quality
    test_codec=dict(type='RealJPEG', quality=train_quality),
    train_cfg=dict(seed=None, gaussian_scale=1.0, codec_threads=0),
    test_cfg=dict(latent='gmm', seed=0, gaussian_scale=1.0),
    data_preprocessor=dict(type='DataPreprocessor'))

# 128x128 GT patches (IRN uses 144, whose x2 LR is not a multiple of 16)
train_pipeline = [
    dict(t, gt_patch_size=128) if t['type'] == 'PairedRandomCrop' else t
    for t in _base_.train_pipeline
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))

test_cfg = dict(
    type='CodecSweepTestLoop',
    codecs=[dict(type='RealJPEG', quality=q) for q in (30, 50, 70, 80, 90)])
