# IRN x2 tested the SAIN way: the quantised LR goes through real JPEG at
# QF 30/50/70/80/90 before upscaling; one table per metric (rows: dataset,
# columns: QF), directly comparable with configs/sain/*. Training is the
# plain IRN x2 recipe (irn_x2_div2k.py); use this config with tools/test.py:
#   python tools/test.py configs/irn/irn_x2_jpeg-sweep_div2k.py CKPT
_base_ = ['./irn_x2_div2k.py', '../_base_/codec_sweep_jpeg.py']

test_cfg = _base_.jpeg_sweep_test_cfg
