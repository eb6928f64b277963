# SAIN x2 WebP, the official train_SAIN_WebP_g_5_e_5_v3_x2.yml: the x2 JPEG
# recipe (sain_x2_jpeg_div2k.py) with real WebP QF 75 (Pillow, libwebp
# method 4) as the codec of the targets and of validation. The differentiable
# proxy in the loop stays DiffJPEG QF 75 (there is no WebP simulator in the
# official code either).
#
# WebP encodes 20-100x slower than JPEG; the two real-codec targets of each
# step are encoded in 4 threads that overlap the forward and inverse passes
# (train_cfg.codec_threads; Pillow releases the GIL while encoding). See
# docs/sain.md for the measured effect.
#
# Test: the paper's QF sweep, with real WebP instead of JPEG (what this model
# is trained for):
#   python tools/test.py configs/sain/sain_x2_webp_div2k.py CKPT
_base_ = ['./sain_x2_jpeg_div2k.py']

train_quality = 75

model = dict(
    train_codec=dict(type='RealWebP', quality=train_quality, method=4),
    test_codec=dict(type='RealWebP', quality=train_quality, method=4),
    train_cfg=dict(codec_threads=4))

test_cfg = dict(
    type='CodecSweepTestLoop',
    codecs=[dict(type='RealWebP', quality=q) for q in (30, 50, 70, 80, 90)])
