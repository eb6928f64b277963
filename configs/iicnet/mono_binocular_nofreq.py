# IICNet binocular mononizing, official config mono-03 (ablation): the mono-01
# setting (mono_binocular.py) without the frequency loss on the embedding;
# 4,399,564 parameters (the mono-01 network).
_base_ = './mono_binocular.py'

model = dict(losses=dict(freq_loss=None))
