# IICNet video embedding, official config st-02 (ablation): the st-01 setting
# (video_embed.py, 5 DAVIS-2017 frames) without the relation module, 30
# couplings instead of 10 to keep the size; 6,573,330 parameters. Batch 1
# (the official no-relation configs).
_base_ = './video_embed.py'

model = dict(generator=dict(use_rel=False, block_num=30))
train_dataloader = dict(batch_size=1)
