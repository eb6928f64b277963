# Test under real JPEG at the five quality factors of the SAIN paper
# (QF 30/50/70/80/90, Pillow, 4:2:0): the model's quantised LR goes through
# the codec before upscaling. Prints one table per metric (rows: dataset,
# columns: QF). Works for any model with the rescaling capability (IRN, SAIN).
# A config that includes this file in its _base_ list selects the loop with
#   test_cfg = _base_.jpeg_sweep_test_cfg
# (mmengine forbids the same key in two base files, hence the own name).
# WebP: the same with dict(type='RealWebP', quality=q).
jpeg_sweep_qualities = (30, 50, 70, 80, 90)
jpeg_sweep_test_cfg = dict(
    type='CodecSweepTestLoop',
    codecs=[dict(type='RealJPEG', quality=q) for q in jpeg_sweep_qualities],
    table_metrics=['PSNR_Y', 'SSIM_Y'])
webp_sweep_test_cfg = dict(
    type='CodecSweepTestLoop',
    codecs=[dict(type='RealWebP', quality=q) for q in jpeg_sweep_qualities],
    table_metrics=['PSNR_Y', 'SSIM_Y'])
