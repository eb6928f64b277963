# "Embedding Novel Views in a Single JPEG Image" (Wu, Meng, Chen, ICCV 2021;
# YueWuHKUST/ICCV2021-Embedding-Novel-Views-in-a-Single-JPEG-Image) without
# its data: EncoderAlphaWeight (32 planes) + Decoder (test.sh:
# --encoder_type 2 --decoder_type 1); DiffJPEG with straight-through
# rounding at a random quality in [87, 93] per batch; losses (all weight 1):
# L2 + VGG on the embedding vs the reference, FFT on the embedding,
# multi-scale PatchGAN (3 scales, InstanceNorm, LSGAN) on the embedding, L2
# on the MPI colour and alpha, L2 + VGG on views rendered at a random pose
# (translation <= 0.5, rotation <= 8 degrees, fx = fy = 0.5); Adam 2e-4,
# eps 1e-8, for the encoder + decoder and the discriminator; batch 1; lr
# halved at epoch 20.
# Test: the embedding saved as a real JPEG (Pillow q90, 4:2:0), the MPI
# decoded from it; embedding PSNR/SSIM vs the reference; views of the
# decoded vs the ground-truth MPI at translations {-4, -2, 0, 2, 4} x 0.017
# along x, y and z (fx = 0.486, fy = 0.864 of the image size).
# Not a training config on its own: novelview_realestate10k.py adds the
# official data, novelview_quickstart.py synthetic MPIs.
_base_ = ['../_base_/default_runtime.py']

num_planes = 32
model = dict(
    type='NovelViewJPEG',
    generator=dict(
        type='NovelViewJPEGNet',
        num_planes=num_planes,
        encoder=dict(type='NovelViewEncoder', base_channels=64),
        decoder=dict(type='NovelViewDecoder', base_channels=64)),
    discriminator=dict(
        type='MultiscaleDiscriminator', base_channels=64, num_layers=3,
        num_scales=3),
    # the official DiffJPEG: 4:2:0, transposed tables, torch.round forward /
    # identity backward, quality drawn per batch from 87..93
    jpeg=dict(
        type='RandomDegradation',
        degradations=[
            dict(type='DiffJPEG', quality=[87, 88, 89, 90, 91, 92, 93],
                 rounding='ste', transposed_tables=True)
        ]),
    train_renderer=dict(type='MPIRenderer', fx=0.5, fy=0.5),
    test_renderer=dict(
        type='MPIRenderer', fx=0.486242434, fy=0.864430976),
    pixel_loss=dict(type='MSELoss'),
    perceptual_loss=None,
    fft_loss=dict(type='FrequencyLoss', norm='ortho', reduction='mean'),
    gan_loss=dict(type='GANLoss', gan_type='lsgan'),
    train_cfg=dict(max_translation=0.5, max_rotation=8.0),
    test_cfg=dict(
        codec=dict(type='RealJPEG', quality=90, subsampling='420'),
        translations=(-4, -2, 0, 2, 4),
        translation_step=0.017,
        axes=('x', 'y', 'z')))

# the official perceptual loss (models/networks.py VGGLoss): torchvision
# VGG19 relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 with weights 1/32, 1/16,
# 1/8, 1/4, 1, L1, on the [-1, 1] images without ImageNet normalisation.
# Configs that train with it set model.perceptual_loss = vgg_perceptual_loss.
vgg_perceptual_loss = dict(
    type='PerceptualLoss',
    layer_weights={
        '1': 1 / 32,
        '6': 1 / 16,
        '11': 1 / 8,
        '20': 1 / 4,
        '29': 1.0
    },
    criterion='l1',
    use_input_norm=False,
    feature_extractor=dict(
        type='VGGFeatureExtractor',
        arch='vgg19',
        weights_path='checkpoints/vgg19.pth'))

mpi_meta_keys = ('key', 'img_path', 'ori_shape', 'sample_idx')
train_pipeline = [
    dict(type='LoadMPIFromFolder'),
    dict(type='MPIResizeCrop', size=(256, 256), max_resize_ratio=0.2,
         small_source='skip'),
    dict(type='PackMPIInputs', meta_keys=mpi_meta_keys),
]
test_pipeline = [
    dict(type='LoadMPIFromFolder'),
    dict(type='MPIResizeCrop', size=(288, 512), max_resize_ratio=0.0),
    dict(type='PackMPIInputs', meta_keys=mpi_meta_keys),
]

optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    generator=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.999), eps=1e-8)),
    discriminator=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.999), eps=1e-8)))
param_scheduler = dict(
    generator=dict(type='MultiStepLR', by_epoch=True, milestones=[20],
                   gamma=0.5),
    discriminator=dict(type='MultiStepLR', by_epoch=True, milestones=[20],
                       gamma=0.5))

# two optimizers (generator, discriminator): distributed runs (also on GPUs)
# need the wrapper that averages the gradients at each optimizer step
model_wrapper_cfg = dict(type='invtoolbox.DeviceAwareDistributedDataParallel')

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# the official measures: the embedding (decoded JPEG) vs the reference, the
# views of the decoded vs the ground-truth MPI; beside them the classical
# baseline (a plain JPEG of the reference, shown unchanged at every pose)
novelview_metrics = [
    dict(type='PSNR', prefix='embedding'),
    dict(type='SSIM', prefix='embedding'),
    dict(type='ViewPSNR', prefix='views'),
    dict(type='ViewSSIM', prefix='views'),
    dict(type='BPP'),
    dict(type='PSNR', pred_key='baseline_img', prefix='baseline_jpeg'),
    dict(type='ViewPSNR', pred_key='baseline_views', prefix='baseline_still'),
]
val_evaluator = novelview_metrics
test_evaluator = novelview_metrics

custom_hooks = [dict(type='NovelViewVisualizationHook', interval=5000)]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=1, by_epoch=True, save_last=True,
        max_keep_ckpts=3))
