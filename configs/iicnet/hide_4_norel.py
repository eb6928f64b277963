# IICNet image hiding, official config hide-05 (ablation): the hide-04 setting
# (hide_4.py, a cover and 4 secrets) without the relation module, 30
# couplings instead of 10; 6,573,330 parameters. Batch 1 (the official
# no-relation configs).
_base_ = './hide_4.py'

model = dict(generator=dict(use_rel=False, block_num=30))
train_dataloader = dict(batch_size=1)
