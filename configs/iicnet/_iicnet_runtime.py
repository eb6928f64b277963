# Shared IICNet settings (felixcheng97/IICNet, ICCV 2021), every official
# train yml: Adam 2e-4 (0.9, 0.999), weight decay 1e-5, gradient norm clipped
# at 10, lr halved at 100k / 200k / 300k / 400k, 500k iterations, validation
# and checkpoints every 1000 iterations (the official code draws no fixed
# seed; invtoolbox seeds the run and the quantisation noise per iteration).
# Not a training config on its own: the task configs inherit it.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/schedules/adam_500k_multistep.py'
]

train_cfg = dict(val_interval=1000)
default_hooks = dict(checkpoint=dict(interval=1000))

# IICNet outputs K restored images per sample; the grids show the
# embedding next to its reference (and the 10x error).
custom_hooks = [
    dict(type='VisualizationHook', interval=5000, gt_key='ref_img',
         pred_key='pred_embed', lr_keys=())
]

# IICNet's evaluation (codes/test.py): 8-bit PSNR / SSIM of the embedding
# vs the reference and of every restored image, all channels, no crop.
val_evaluator = dict(type='RICMetric')
test_evaluator = val_evaluator

# The official network options; the task fills in num_images,
# out_channels and (for x2 tasks) the downscaling stage.
generator = dict(
    type='IICNetNet',
    use_rel=True,
    rel_channels=64,
    block_num=10,
    subnet=dict(type='DenseBlock', growth=32, init='xavier'))
model = dict(
    type='IICNet',
    generator=generator,
    # losses: task.default_losses() (1 * L2 + 0.001 * FFT on the embedding,
    # 3 * Charbonnier restoration; 0.4 with x2 downscaling)
    quantization=dict(type='NoiseQuantization'),
    channel_order='bgr',  # official; needed by converted checkpoints
    train_cfg=dict(seed=None),
    test_cfg=dict(quantize=True),
    data_preprocessor=dict(type='DataPreprocessor'))
