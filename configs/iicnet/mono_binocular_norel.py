# IICNet binocular mononizing, official config mono-02 (ablation): the mono-01
# setting (mono_binocular.py) without the relation module, 24 couplings
# instead of 16; 4,494,240 parameters. Batch 1 (the official no-relation
# configs).
_base_ = './mono_binocular.py'

model = dict(generator=dict(use_rel=False, block_num=24))
train_dataloader = dict(batch_size=1)
