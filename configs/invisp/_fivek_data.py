# MIT-Adobe FiveK DNGs of one camera with the official Invertible-ISP split
# (Nikon D700: 414 / 73 files, Canon EOS 5D: 650 / 127; shipped in
# invtoolbox/datasets/raw/splits/). `camera` and `data_root` are the Nikon
# ones here; invisp_canon_fivek.py sets the Canon ones. Download the
# DNGs of that camera into data_root (see configs/invisp/README.md); the
# sRGB targets (LibRaw postprocess, JPEG q90 4:2:2) are rendered once and
# cached in data_root/.invtoolbox_srgb/.
# Training: random 256x256 crops at the same place in RAW and target, the
# official rot90 + flip; batch 1. Test: whole images.
camera = 'nikon'
data_root = 'data/fivek/nikon'
raw_meta_keys = ('key', 'img_path', 'ori_shape', 'raw_path', 'raw_meta',
                 'sample_idx')

train_pipeline = [
    dict(type='LoadRAWFromFile', key='raw'),
    dict(type='LoadSRGBTarget', key='gt'),
    dict(type='PairedRandomCrop', gt_patch_size=256, scale=1,
         keys=('gt', 'raw')),
    dict(type='RandomRot90Flip', keys=('raw', 'gt')),
    dict(type='PackInputs', input_key='raw', fields=dict(gt='gt_img'),
         meta_keys=raw_meta_keys),
]
test_pipeline = [
    dict(type='LoadRAWFromFile', key='raw'),
    dict(type='LoadSRGBTarget', key='gt'),
    dict(type='PackInputs', input_key='raw', fields=dict(gt='gt_img'),
         meta_keys=raw_meta_keys),
]

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
        pipeline=train_pipeline))
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
        pipeline=test_pipeline))
test_dataloader = val_dataloader
