# IRN-CRM x2, JPEG q90 (IJCV, "IRN with compression"): the finetuned IRN x2
# stays frozen; a compression-restoration module (RRDBNet, 8 RRDB blocks,
# 64 features) learns to restore the LR after a real OpenCV JPEG at q90
# (straight-through in backward). Loss: l2(R(JPEG(Quant(LR))), LR) only.
# 50k iterations, lr 2e-4 halved at 10k/20k/30k/40k. Start from the
# converted finetuned generator:
#   python tools/model_converters/convert_official.py IRN_x2_finetune \
#       IRN_x2_finetune.pth checkpoints/irn_x2_finetune_official.pth
_base_ = './irn_x2_div2k.py'

load_from = 'checkpoints/irn_x2_finetune_official.pth'
# the checkpoint holds the generator only (it must fit exactly); the
# restorer starts from its initialisation (the log says so)
load_fresh_parts = ['restorer']
model = dict(
    _delete_=True,
    type='IRNCRM',
    generator=dict(
        type='IRNNet',
        in_channels=3,
        out_channels=3,
        scale=2,
        block_num=[8],
        down_type='haar',
        subnet=dict(type='DenseBlock', growth=32, init='xavier')),
    restorer=dict(
        type='RRDBNet',
        in_channels=3,
        out_channels=3,
        mid_channels=64,
        num_blocks=8,
        growth_channels=32),
    codec=dict(type='RealJPEG', quality=90, backend='opencv'),
    restoration_loss=dict(
        type='MSELoss', loss_weight=1.0, reduction='batch_sum'),
    test_cfg=dict(latent='gaussian', seed=0, gaussian_scale=1.0),
    data_preprocessor=dict(type='DataPreprocessor'))

optim_wrapper = dict(
    optimizer=dict(lr=2e-4, betas=(0.9, 0.999), weight_decay=0))
param_scheduler = dict(milestones=[10000, 20000, 30000, 40000])
train_cfg = dict(max_iters=50000)
# the bitrate of the JPEG'd LR, reported as bits per HR pixel
test_evaluator = _base_.test_evaluator + [dict(type='BPP')]
val_evaluator = test_evaluator
