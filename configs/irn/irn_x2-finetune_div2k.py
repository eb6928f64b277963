# IRN x2 finetune (IJCV, IRN_x2_finetune.pth): starts from the converted
# IRN_x2 weights, forward loss Charbonnier instead of l2, and with p=0.5
# 0.01*N(0,1) noise added to the quantised LR in training (robustness to
# small LR perturbations); lr 1e-5 for 100k iterations.
#   python tools/model_converters/convert_official.py IRN_x2 IRN_x2.pth \
#       checkpoints/irn_x2_official.pth
_base_ = './irn_x2_div2k.py'

load_from = 'checkpoints/irn_x2_official.pth'
model = dict(
    pixel_loss_forw=dict(
        _delete_=True, type='CharbonnierLoss', loss_weight=4.0,
        reduction='batch_sum'),
    train_cfg=dict(y_noise_prob=0.5, y_noise_scale=0.01))
optim_wrapper = dict(optimizer=dict(lr=1e-5))
param_scheduler = dict(milestones=[100000])
train_cfg = dict(max_iters=100000)
