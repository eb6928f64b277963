# SAIN x4 JPEG, the official train_SAIN_JPEG_g_5_e_10_v6_x4.yml: two Haar
# stages (3 -> 12 -> 48 channels, both before the couplings), 10 enhanced +
# 6 vanilla couplings (split 3 / 45), lambda = scale^2 = 16; otherwise the
# x2 recipe (sain_x2_jpeg_div2k.py, _sain_base.py) on the x4 data: DIV2K
# 128x128 GT patches (32x32 LR), batch 16, Adam 2e-4, 500k iterations,
# DiffJPEG QF 75 in the loop, real JPEG QF 75 targets.
# Test: real JPEG QF 30/50/70/80/90 on the five benchmarks, Y-PSNR/SSIM with
# crop = 4, GMM latent (seed 0):
#   python tools/test.py configs/sain/sain_x4_jpeg_div2k.py CKPT
_base_ = [
    './_sain_base.py', '../_base_/datasets/div2k_train_x4.py',
    '../_base_/datasets/sr_test_x4.py'
]

scale = 4
model = dict(
    generator=dict(scale=scale, e_blocks=10, v_blocks=6),
    pixel_loss_forw=dict(loss_weight=scale**2))

# 128x128 GT patches, as at x2
train_pipeline = [
    dict(t, gt_patch_size=128) if t['type'] == 'PairedRandomCrop' else t
    for t in _base_.train_pipeline
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))

test_cfg = dict(
    type='CodecSweepTestLoop',
    codecs=[dict(type='RealJPEG', quality=q) for q in (30, 50, 70, 80, 90)])
