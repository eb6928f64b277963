# Novel views in a JPEG, the official setting: RealEstate10K MPIs (made by
# Stereo Magnification or PB-MPI, 32 planes) in the official layout
#   data/realestate10k_mpi/{train,test_final}/<video id>/<frame>/
#       src_image_0.png, mpi_rgb_XX.png, mpi_alpha_XX.png
# (see configs/novelview/README.md), 256x256 training crops after a random
# resize of up to +20%, 288x512 test images, batch 1, the VGG19 perceptual
# terms from checkpoints/vgg19.pth (docs/latents_and_losses.md says how to
# make it; train without it with --cfg-options model.perceptual_loss=None).
# The released encoder/decoder pair converts to this config's model with
#   python tools/model_converters/convert_official.py NovelViewJPEG \
#       encoder=encoder_003_00015000.pth,decoder=decoder_003_00015000.pth OUT.pth
_base_ = ['./_novelview_base.py']

data_root = 'data/realestate10k_mpi'
model = dict(perceptual_loss=dict(_base_.vgg_perceptual_loss, _delete_=True))

train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='MPIFolderDataset',
        data_root=data_root,
        split='train',
        ids_file='realestate10k_train',
        num_planes=32,
        skip_incomplete=True,
        pipeline=_base_.train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='MPIFolderDataset',
        data_root=data_root,
        split='test_final',
        ids_file='realestate10k_test',
        num_planes=32,
        test_mode=True,
        pipeline=_base_.test_pipeline))
test_dataloader = val_dataloader
