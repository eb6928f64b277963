# MIT-Adobe FiveK DNGs of one camera with the official Invertible-ISP split
# (Nikon D700: 414 / 73 files, Canon EOS 5D: 650 / 127; shipped in
# invtoolbox/datasets/raw/splits/). `camera` and `data_root` are the Nikon
# ones here; invisp_canon_fivek.py sets the Canon ones. Download the
# DNGs of that camera into data_root (see configs/invisp/README.md); the
# sRGB targets (LibRaw postprocess, JPEG q90 4:2:2) are rendered once and
# cached in data_root/.invtoolbox_srgb/.
# Inherits the recipe (_invisp_base.py) and feeds its pipelines: batch 1,
# whole images at test time.
_base_ = ['./_invisp_base.py']

camera = 'nikon'
data_root = 'data/fivek/nikon'
train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='FiveKRAWDataset',
        data_root=data_root,
        camera=camera,
        split='train',
        pipeline=_base_.train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='FiveKRAWDataset',
        data_root=data_root,
        camera=camera,
        split='test',
        test_mode=True,
        pipeline=_base_.test_pipeline))
test_dataloader = val_dataloader
