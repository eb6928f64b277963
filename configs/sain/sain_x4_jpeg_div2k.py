# SAIN x4 JPEG, the official train_SAIN_JPEG_g_5_e_10_v6_x4.yml: two Haar
# stages (3 -> 12 -> 48 channels, both before the couplings), 10 enhanced +
# 6 vanilla couplings (split 3 / 45), lambda = scale^2 = 16; otherwise the
# x2 recipe (sain_x2_jpeg_div2k.py): DIV2K 128x128 GT patches (32x32 LR),
# batch 16, Adam 2e-4, 500k iterations, DiffJPEG QF 75 in the loop, real
# JPEG QF 75 targets.
# Test: real JPEG QF 30/50/70/80/90 on the five benchmarks, Y-PSNR/SSIM with
# crop = 4, GMM latent (seed 0):
#   python tools/test.py configs/sain/sain_x4_jpeg_div2k.py CKPT
_base_ = ['./sain_x2_jpeg_div2k.py']

scale = 4

model = dict(
    generator=dict(scale=scale, e_blocks=10, v_blocks=6),
    pixel_loss_forw=dict(loss_weight=scale**2))

# the scale-dependent transforms and metrics (see configs/_base_/datasets)
train_pipeline = [
    dict(t, scale=scale) if 'scale' in t else t
    for t in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
test_pipeline = [
    dict(t, scale=scale) if 'scale' in t else t for t in _base_.test_pipeline
]
test_dataloader = [
    dict(loader, dataset=dict(loader.dataset, pipeline=test_pipeline))
    for loader in _base_.test_dataloader
]
val_dataloader = test_dataloader[:2]
test_evaluator = [dict(m, crop_border=scale) for m in _base_.test_evaluator]
val_evaluator = test_evaluator
