# IICNet image hiding, official config hide-06 (ablation): the hide-04 setting
# (hide_4.py) without the frequency loss on the embedding; 6,805,540
# parameters (the hide-04 network).
_base_ = './hide_4.py'

model = dict(losses=dict(freq_loss=None))
