# IICNet composition / decomposition, official config real-01: Real-Matting
# (Background Matting) [frame, background] into one image that looks like the
# frame; relation module, 10 couplings; 3,276,004 parameters. Whole images
# resized to 256x256 for training and evaluation, batch 1; validation every
# 50k iterations.
#
# Expected layout (two parallel folders matched by file stem: each frame
# next to a copy or link of its scene's background):
#   data/RealMatting/{train,val,test}/frame/<stem>.png
#   data/RealMatting/{train,val,test}/background/<stem>.png
# The official split (codes/scripts/real_annotation.py) is by background id:
# val = background 12, test = backgrounds 1, 3 and 10, train = the others.
_base_ = './composition.py'

data_root = 'data/RealMatting'
folders = ('frame', 'background')
model = dict(task=dict(num_images=2))
train_cfg = dict(val_interval=50000)

train_dataloader = dict(
    dataset=dict(
        data_root=f'{data_root}/train',
        folders=folders,
        metainfo=dict(dataset_name='RealMatting_train')))


def _split(loader, split):
    return dict(
        loader,
        dataset=dict(
            loader.dataset,
            data_root=f'{data_root}/{split}',
            folders=folders,
            pipeline=_base_.train_pipeline,  # 256x256, as in training
            metainfo=dict(dataset_name=f'RealMatting_{split}')))


val_dataloader = [_split(loader, 'val') for loader in _base_.val_dataloader]
test_dataloader = [_split(loader, 'test') for loader in _base_.test_dataloader]
